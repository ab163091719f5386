from __future__ import annotations

from datetime import date

import pytest

from matchgraph.engine.catalog.models import StartingPrice
from matchgraph.engine.evidence.scores import (
    documentation,
    freshness_part,
    licence_clarity,
    match_graph_part,
    quality_checklist,
    quality_part,
    wilson,
)
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.recommend.compare import format_price
from matchgraph.engine.recommend.resolve import Outcome
from matchgraph.engine.search.searcher import SearchRequest
from matchgraph.engine.settings import Settings

AS_OF = date(2026, 11, 1)


@pytest.mark.parametrize(
    ("amount", "unit", "currency", "text"),
    [
        (0.00000015, "prompt token", "USD", "$0.15 per 1M prompt tokens"),
        (20, "month", "USD", "$20 per month"),
        (0.04, "image", "USD", "$0.04 per image"),
        (0.0043, "minute", "USD", "$0.0043 per minute"),
        (1499.5, "year", "EUR", "EUR 1,499.50 per year"),
    ],
)
def test_prices_read_the_way_people_read_them(amount: float, unit: str, currency: str, text: str) -> None:
    assert format_price(StartingPrice(amount=amount, unit=unit, currency=currency)) == text
    assert format_price(None) == "—"


def test_wilson_bounds() -> None:
    low, high = wilson(9, 10)
    assert 0.55 < low < 0.6 and 0.98 < high <= 1.0
    assert wilson(0, 0) == (0.0, 1.0)


def test_freshness_halves_every_half_life() -> None:
    assert freshness_part(date(2026, 5, 5), AS_OF, 180).value == pytest.approx(0.5, abs=0.01)
    assert freshness_part(AS_OF, AS_OF, 180).value == 1.0
    missing = freshness_part(None, AS_OF, 180)
    assert missing.n == 0 and missing.low == 0.0 and missing.high == 1.0


def test_match_graph_grows_slowly_with_few_clients_and_saturates_with_many() -> None:
    none = match_graph_part(0, 0, evidence=0.0, half=60, centrality=0.0)
    assert none.note == "0 matches yet" and none.value == 0.0
    few = match_graph_part(40, 0, evidence=4.5, half=60, centrality=1.0)
    many = match_graph_part(400, 0, evidence=300.0, half=60, centrality=1.0)
    assert few.value < 0.1 < 0.75 < many.value
    assert (many.high - many.low) < (few.high - few.low)


def search(mg: Matchgraph, query: str, client: str, limit: int = 2) -> list[str]:
    r = mg.search(SearchRequest(query, limit=limit, client_id=client))
    return [h.artifact.artifact.slug for h in r.hits]


def test_scripted_evidence_gives_expected_edges_counts_parts_and_verdict(
    indexed_settings: Settings,
) -> None:
    settings = indexed_settings.changed(graph_top_k=2)
    with Matchgraph(settings) as mg:
        pair = search(mg, "transcribe audio to text", "alice")
        for _ in range(50):  # gaming: the same client and query, again and again
            search(mg, "transcribe audio to text", "alice")
        assert search(mg, "transcribe audio to text", "bob") == pair
        other = search(mg, "vector database with metadata filters", "alice")
        first = mg.rank(AS_OF)
        ids = {r.artifact.slug: r.row_id for r in mg.list_artifacts(50, 0)[0]}
        a, b = sorted((ids[pair[0]], ids[pair[1]]))
        edges = {(e.a, e.b): e for e in mg.stores.evidence.all_edges()}
        assert edges[(a, b)].co_searches == 2  # alice + bob, not 52
        assert first.units == 2 + (1 if set(other) != set(pair) else 0)
        top = mg.get_artifact(pair[0])
        assert (top.times_matched, top.raw_matches) == (2, 52)

        unmatched = sorted(set(ids) - set(pair) - set(other))[0]
        parts = mg.score(ids[unmatched]).parts  # type: ignore[union-attr]
        assert parts["match_graph"]["note"] == "0 matches yet"
        artifact = mg.get_artifact(unmatched).artifact
        checklist = quality_checklist(artifact)
        met = sum(checklist.values()) / len(checklist)
        manifest = 0.5 * met + 0.25 * licence_clarity(artifact.license) + 0.25 * documentation(artifact)
        assert parts["quality"]["value"] == pytest.approx(0.6 * manifest + 0.4 * 0.2)  # no feedback: prior
        assert artifact.updated_at is not None
        assert parts["freshness"]["inputs"]["age_days"] == (AS_OF - artifact.updated_at).days  # type: ignore[index]

        # positive feedback on the top hit lifts its Quality and Match Graph parts
        rid = mg.search(SearchRequest("transcribe audio to text", limit=2, client_id="carol")).search_id
        before = mg.score(ids[pair[0]])
        assert mg.feedback(rid, pair[0], None, Outcome.succeeded, "c")
        mg.rank(AS_OF)
        after = mg.score(ids[pair[0]])
        assert after is not None and before is not None
        assert after.parts["quality"]["n"] == 1
        assert after.parts["quality"]["value"] > before.parts["quality"]["value"]  # type: ignore[operator]
        assert after.parts["match_graph"]["inputs"]["positive_feedback"] == 1  # type: ignore[index]
        assert after.parts["match_graph"]["value"] >= before.parts["match_graph"]["value"]  # type: ignore[operator]

        comparison = mg.compare("speechy", "llama-runner")
        sa, sb = mg.score(ids["speechy"]), mg.score(ids["llama-runner"])
        assert sa is not None and sb is not None
        # audio in against text in: no winner by score; both scores are given, each in its own kind
        assert "do different jobs" in comparison.verdict
        assert f"({sa.score:.0f}/100 and {sb.score:.0f}/100)" in comparison.verdict
        assert comparison.verdict == mg.compare("speechy", "llama-runner").verdict  # deterministic


def test_scores_are_reproducible_from_the_database_alone(indexed_settings: Settings) -> None:
    with Matchgraph(indexed_settings) as mg:
        for i, q in enumerate(["speech to text", "local llm", "vector search", "edit photos"]):
            mg.search(SearchRequest(q, client_id=f"u{i}"))
        first = mg.rank(AS_OF).scores
    with Matchgraph(indexed_settings, record=False) as fresh:
        again = fresh.rank(AS_OF).scores
    assert {k: (v.score, v.parts) for k, v in first.items()} == {
        k: (v.score, v.parts) for k, v in again.items()
    }


def test_explain_says_why_a_score_moved(indexed_settings: Settings) -> None:
    with Matchgraph(indexed_settings) as mg:
        mg.rank(date(2026, 3, 2))
        for i in range(6):
            mg.search(SearchRequest("transcribe audio to text", limit=1, client_id=f"user{i}"))
        mg.rank(date(2027, 3, 2))
        lines, history = mg.explain("speechy")
    assert [d for d, _ in history][-2:] == ["2026-03-02", "2027-03-02"]
    assert any("freshness decayed" in line and line.startswith("−") for line in lines)
    assert any("+6 matches" in line and line.startswith("+") for line in lines)


def test_feedback_moves_quality_both_ways() -> None:
    from matchgraph.engine.catalog.models import Artifact
    from matchgraph.engine.evidence.scores import quality_part

    a = Artifact.model_validate({"slug": "q", "name": "Q", "type": "app", "capabilities": [
        {"key": "k", "name": "K", "description": "d"}]})
    none = quality_part(a, 0, 0).value
    assert quality_part(a, 1, 0).value > none > quality_part(a, 0, 1).value
    assert quality_part(a, 40, 0).value > quality_part(a, 1, 0).value


def test_quality_separates_artifacts_by_licence_clarity_and_documentation() -> None:
    from collections import Counter

    from matchgraph.engine.catalog.manifests import load_manifests

    artifacts = load_manifests([Settings().catalog_dir]).artifacts
    values = Counter(quality_part(a, 0, 0).value for a in artifacts)
    assert values.most_common(1)[0][1] / len(artifacts) < 0.6  # was 85% at one value
    assert licence_clarity("Apache-2.0") > licence_clarity("Llama 3.1 Community License") \
        > licence_clarity("proprietary") > licence_clarity(None)
    clear = next(a for a in artifacts if a.license == "MIT" and a.docs and a.repository and a.homepage)
    murky = clear.model_copy(update={"license": None, "docs": None, "repository": None})
    assert quality_part(clear, 0, 0).value > quality_part(murky, 0, 0).value
