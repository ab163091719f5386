"""Search judgement on the bundled catalog: a floor under which nothing is an answer, the kind
of artifact asked for first, names and abbreviations, and resolve's confidence.

The held-out needs file (tests/data/needs-heldout.jsonl) was written apart from the dev set
the relevance model is fitted on, so the figures asserted here are not the ones it was tuned to.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from matchgraph.api.app import create_app
from matchgraph.api.cli.main import app
from matchgraph.engine.evaluation.needs import read_needs, run_needs, score_needs
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.recommend.resolve import first_answer_confidence
from matchgraph.engine.search.searcher import SearchRequest
from matchgraph.engine.settings import Settings

NEEDS = Path(__file__).parent / "data"
GIBBERISH = ["qwxzv blorptangle", "asdf jkl qwerty uiop", "zzzz frobnicate glimmerwock"]
OFF_TOPIC = ["recipe for a gluten free chocolate cake", "cheap flights to lisbon in march",
             "how do I fix a squeaky car brake"]


def judging(state: Path, **changes: object) -> Settings:
    """Settings with the fitted model's own floor (conftest turns the floor off for the fixture
    catalog's machinery tests)."""
    return Settings(data_dir=state, writer_flush_seconds=0.05, relevance_floor=None, **changes)


@pytest.fixture(scope="module")
def bundled_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled catalog ingested and indexed once for this module."""
    state = tmp_path_factory.mktemp("bundled") / "state"
    with Matchgraph(Settings(data_dir=state), record=False) as mg:
        mg.ensure_ready()
    return state


@pytest.fixture
def bundled(bundled_state: Path, tmp_path: Path) -> Iterator[Matchgraph]:
    state = tmp_path / "state"
    shutil.copytree(bundled_state, state)
    with Matchgraph(judging(state)) as mg:
        yield mg


def top(mg: Matchgraph, query: str, limit: int = 5) -> list[str]:
    result = mg.search(SearchRequest(query, limit=limit, record=False))
    return [h.artifact.artifact.slug for h in result.hits]


@pytest.mark.parametrize("query", GIBBERISH + OFF_TOPIC)
def test_unservable_needs_get_nothing_and_record_nothing(bundled: Matchgraph, query: str) -> None:
    result = bundled.search(SearchRequest(query, limit=10))
    bundled.flush_matches()
    assert result.hits == [] and result.total == 0 and result.no_match
    assert all(h.score < bundled.searcher.rank_settings.floor for h in result.nearest)
    assert bundled.stores.matchlog.sizes() == (0, 0)  # no search, no match recorded


def test_a_servable_need_is_answered_and_recorded(bundled: Matchgraph) -> None:
    result = bundled.search(SearchRequest("transcribe a podcast to text with timestamps", limit=5))
    bundled.flush_matches()
    assert result.hits and not result.no_match
    assert bundled.stores.matchlog.search_results(result.search_id)
    assert bundled.stores.matchlog.sizes()[0] == 1


@pytest.mark.parametrize(("query", "kind"), [
    ("a dataset of math word problems", "dataset"),
    ("a benchmark for coding agents on real github issues", "benchmark"),
    ("an MCP server that lets my assistant query a postgres database", "mcp"),
    ("a vector database to self-host for RAG", "platform"),
    ("a command line tool to chat with models in my terminal", "cli"),
])
def test_a_need_naming_a_kind_gets_that_kind_first(bundled: Matchgraph, query: str, kind: str) -> None:
    result = bundled.search(SearchRequest(query, limit=3, record=False))
    assert result.hits, query
    assert result.hits[0].artifact.artifact.type.value == kind, top(bundled, query)


def test_needs_naming_a_kind_mostly_get_it_first(bundled: Matchgraph) -> None:
    needs = [n for n in read_needs(NEEDS / "needs-heldout.jsonl").needs if n.kind]
    assert len(needs) >= 20
    results = run_needs(bundled, needs, limit=1)
    first_kinds = [r.hits[0].artifact.artifact.type.value if r.hits else None for r in results]
    assert sum(k == n.kind for k, n in zip(first_kinds, needs)) / len(needs) >= 0.75


@pytest.mark.parametrize(("query", "slug"), [
    ("sdxl", "sdxl"),
    ("stable diffusion xl", "sdxl"),
    ("postgres mcp server", "mcp-server-postgres"),
    ("a1111", "stable-diffusion-webui"),
])
def test_names_aliases_and_abbreviations_find_the_artifact(
    bundled: Matchgraph, query: str, slug: str,
) -> None:
    assert slug in top(bundled, query, 3)


def test_an_alternative_to_x_is_not_x(bundled: Matchgraph) -> None:
    got = top(bundled, "an open source alternative to midjourney", 5)
    assert got and "midjourney" not in got
    assert top(bundled, "midjourney", 1) == ["midjourney"]


def test_resolve_below_its_threshold_says_no_confident_match(bundled_state: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    shutil.copytree(bundled_state, state)
    with Matchgraph(judging(state, resolve_min_confidence=0.999)) as strict:
        r = strict.resolve("speech to text for meeting recordings")
    assert r.best is None and "No confident match" in r.why
    assert r.alternatives and r.confidence < 0.999


def test_resolve_on_gibberish_answers_nothing(bundled: Matchgraph) -> None:
    r = bundled.resolve("qwxzv blorptangle")
    assert r.best is None and r.confidence == 0.0 and "Nothing in the catalog" in r.why


def test_held_out_needs_meet_the_bar(bundled: Matchgraph) -> None:
    """Written apart from the dev set; the figures are a little under the ones measured (README)."""
    needs = read_needs(NEEDS / "needs-heldout.jsonl").needs
    report = score_needs(needs, run_needs(bundled, needs),
                         lambda r: first_answer_confidence(r, bundled.searcher.model))
    assert report["success@5"] >= 0.92, report
    assert report["success@1"] >= 0.8, report
    assert report["unservable_answered_with_nothing"] >= 0.9, report
    assert report["calibration"]["ece"] <= 0.1 and report["calibration"]["auc"] >= 0.8, report


def test_eval_survives_long_blank_and_broken_lines(bundled_state: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    shutil.copytree(bundled_state, state)
    monkeypatch.setenv("MATCHGRAPH_DATA_DIR", str(state))
    monkeypatch.delenv("MATCHGRAPH_RELEVANCE_FLOOR")
    needs = tmp_path / "needs.jsonl"
    long_need = "transcribe my podcast episodes into text " + "with speaker labels " * 30
    assert len(long_need) > 600
    needs.write_text("\n".join([
        json.dumps({"need": long_need, "accept": ["whisper"]}),
        "",
        '{"need": "broken',
        json.dumps({"need": "qwxzv blorptangle", "accept": [], "why": "gibberish"}),
        json.dumps({"accept": ["whisper"]}),
    ]) + "\n")
    r = CliRunner().invoke(app, ["eval", "--needs", str(needs), "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert (report["needs"], report["servable"], report["unservable"]) == (2, 1, 1)
    assert (report["skipped"], report["truncated"]) == (3, 1)
    assert "line 2: blank" in r.stderr and "line 3: not JSON" in r.stderr and "line 5" in r.stderr


def test_eval_on_a_missing_file_is_one_message_and_exit_2(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCHGRAPH_DATA_DIR", str(tmp_path / "state"))
    r = CliRunner().invoke(app, ["eval", "--needs", str(tmp_path / "nope.jsonl")])
    assert r.exit_code == 2
    assert "nope.jsonl" in r.output and "Traceback" not in r.output


def test_the_search_page_says_nothing_serves_it_and_shows_the_nearest(bundled_state: Path,
                                                                      tmp_path: Path) -> None:
    state = tmp_path / "state"
    shutil.copytree(bundled_state, state)
    with TestClient(create_app(judging(state))) as client:
        r = client.get("/", params={"q": "recipe for a gluten free chocolate cake"})
        mg: Matchgraph = client.app.state.matchgraph  # type: ignore[attr-defined]
        mg.flush_matches()
        assert mg.stores.matchlog.sizes() == (0, 0)
    assert r.status_code == 200
    assert "No artifact in the catalog serves this" in r.text and "Nearest, not matching" in r.text
    assert '<li class="result">' not in r.text


def test_artifact_and_graph_pages_stay_short_when_there_is_little_to_show(bundled_state: Path,
                                                                         tmp_path: Path) -> None:
    state = tmp_path / "state"
    shutil.copytree(bundled_state, state)
    with TestClient(create_app(judging(state))) as client:
        page = client.get("/artifacts/ministral-3-8b-2512").text
        graph = client.get("/graph", params={"artifact": "ministral-3-8b-2512"}).text
    # a jump link near the top reaches "Need something different?" on a phone
    assert page.index('href="#different-heading"') < page.index('id="caps-heading"')
    assert 'class="more-capabilities"' in page  # capabilities after the first three are folded
    # no searches yet: one line, not an empty picture
    assert "No links yet" in graph and "graph-chart" not in graph


def test_taxonomy_needs_find_their_artifacts_through_the_real_search(bundled: Matchgraph) -> None:
    """Every need of data/needs_taxonomy.yaml, asked as written: an artifact that serves it is in
    the first five above the floor for most (measured 224 of 252; the issue's bar, two serving
    artifacts above the floor for every need, is not met yet: see the README)."""
    import yaml

    from matchgraph.engine.settings import bundled_data

    taxonomy = yaml.safe_load((bundled_data() / "needs_taxonomy.yaml").read_text(encoding="utf-8"))
    needs = [n for group in taxonomy["groups"] for n in group["needs"]]
    results = bundled.search_many([SearchRequest(n["need"], limit=5, record=False) for n in needs])
    found = [any(h.artifact.artifact.slug in n["served_by"] for h in r.hits) for n, r in zip(needs, results)]
    assert sum(found) / len(needs) >= 0.85, sum(found)


def test_how_a_need_ends_does_not_change_its_answers(bundled: Matchgraph) -> None:
    """A trailing full stop moved the model's vector enough to answer with translation models."""
    for need in read_needs(NEEDS / "needs-heldout.jsonl").needs[:40]:
        plain = need.text.rstrip(".!? ")
        assert top(bundled, plain + ".") == top(bundled, plain) == top(bundled, plain + "?!"), plain
