from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matchgraph.engine.catalog.models import ArtifactType, PricingModel
from matchgraph.engine.errors import InvalidQuery
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.search.filters import SearchFilters
from matchgraph.engine.search.searcher import SearchRequest, SearchResult
from matchgraph.engine.settings import Settings

from .conftest import publish_a_second_vecstore


def top_slugs(mg: Matchgraph, query: str, **kw: object) -> list[str]:
    result = mg.search(SearchRequest(query, record=False, **kw))  # type: ignore[arg-type]
    return [h.artifact.artifact.slug for h in result.hits]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("transcribe audio to text", "speechy"),
        ("run an open LLM locally on a laptop", "llama-runner"),
        ("MCP server to query Postgres read-only", "pg-reader-mcp"),
        ("generate photorealistic product photos", "pixel-forge"),
        ("vector database with metadata filters", "vecstore"),
    ],
)
def test_needs_find_the_artifact_that_serves_them(engine: Matchgraph, query: str, expected: str) -> None:
    assert top_slugs(engine, query)[0] == expected


def test_results_are_grouped_by_artifact_with_explanations(engine: Matchgraph) -> None:
    result = engine.search(SearchRequest("hybrid keyword and vector search", record=False))
    slugs = [h.artifact.artifact.slug for h in result.hits]
    assert len(slugs) == len(set(slugs)) == result.total
    top = result.hits[0]
    assert top.artifact.artifact.slug == "vecstore"
    assert [m.rank for m in top.matches] == sorted(m.rank for m in top.matches)
    assert top.matches[0].cap_id == "vecstore/hybrid-ranking"
    assert {"hybrid", "keyword", "vector"} <= set(top.matches[0].matched_terms)
    assert top.matches[0].dense_score is not None and top.matches[0].lexical_score is not None
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)


@pytest.mark.parametrize(
    ("filters", "allowed"),
    [
        (SearchFilters(types=(ArtifactType.api,)), {"speechy"}),
        (SearchFilters(types=(ArtifactType.cli, ArtifactType.mcp)), {"llama-runner", "pg-reader-mcp"}),
        (SearchFilters(pricing=(PricingModel.open_source,)), {"llama-runner", "vecstore"}),
        (SearchFilters(free=False), {"speechy"}),
        (SearchFilters(free=True), {"llama-runner", "vecstore", "pixel-forge", "pg-reader-mcp"}),
        (SearchFilters(category="RAG"), {"vecstore"}),
        (SearchFilters(tag="postgres"), {"pg-reader-mcp"}),
        (SearchFilters(types=(ArtifactType.api,), tag="postgres"), set()),
    ],
)
def test_filters_keep_only_matching_artifacts(
    engine: Matchgraph, filters: SearchFilters, allowed: set[str]
) -> None:
    # a query that by itself would rank other artifacts first
    got = set(top_slugs(engine, "run a language model locally", filters=filters, limit=50))
    assert got == allowed


def test_offset_pages_through_the_same_ranking(engine: Matchgraph) -> None:
    everything = top_slugs(engine, "open source tool", limit=50)
    assert len(everything) == 5
    assert top_slugs(engine, "open source tool", limit=2, offset=2) == everything[2:4]


@pytest.mark.parametrize(
    "bad",
    ["", " ", "a", "   x  ", "x" * 501, "x" * 10_000, "images\x00please", "hello\x1bworld"],
)
def test_bad_queries_are_refused_with_a_reason(engine: Matchgraph, bad: str) -> None:
    with pytest.raises(InvalidQuery) as info:
        engine.search(SearchRequest(bad, record=False))
    assert str(info.value)


@pytest.mark.parametrize(
    "odd", ['"image" AND NOT (audio*)', "NEAR(a b) OR x:y", "'; DROP TABLE artifacts; --", "🙂 émoji ✓"]
)
def test_query_syntax_is_just_text(engine: Matchgraph, odd: str) -> None:
    result = engine.search(SearchRequest(odd, record=False))
    assert result.total >= 0
    assert engine.health().counts.artifacts == 5


def test_limit_bounds(engine: Matchgraph) -> None:
    for limit in (0, 51):
        with pytest.raises(InvalidQuery, match="limit"):
            engine.search(SearchRequest("images", limit=limit, record=False))


def test_search_many_equals_single_searches(engine: Matchgraph) -> None:
    queries = ["transcribe audio to text", "vector database", "transcribe audio to text"]
    batch = engine.search_many([SearchRequest(q, record=False) for q in queries])
    singles = [engine.search(SearchRequest(q, record=False)) for q in queries]
    for a, b in zip(batch, singles):
        assert [(h.artifact.artifact.slug, h.score) for h in a.hits] == [
            (h.artifact.artifact.slug, h.score) for h in b.hits
        ]


def test_a_query_begun_is_cached_for_its_search(engine: Matchgraph) -> None:
    engine.embedder.clear_cache()
    q = "render a photo of a cat from a sentence"
    assert not engine.embedder.is_cached(q)
    pending = engine.begin_search(SearchRequest(q, record=False))
    vector = pending.vector.result(timeout=60)
    assert engine.embedder.is_cached(q)
    again = engine.begin_search(SearchRequest("  RENDER a photo of a cat   from a sentence ", record=False))
    assert again.query == "RENDER a photo of a cat from a sentence"  # cleaned once, here
    assert again.vector.done() and np.array_equal(again.vector.result(), vector)  # same tokens
    cached = engine.finish_search(pending)
    engine.embedder.clear_cache()
    fresh = engine.search(SearchRequest(q, record=False))
    assert [h.artifact.artifact.slug for h in cached.hits] == [h.artifact.artifact.slug for h in fresh.hits]
    with pytest.raises(InvalidQuery):
        engine.begin_search(SearchRequest("a\x00b"))


def test_a_search_finished_from_its_vector_runs_no_model_and_answers_the_same(engine: Matchgraph) -> None:
    q = "render a photo of a cat from a sentence"
    pending = engine.begin_search(SearchRequest(q, record=False))
    pending.vector.result(timeout=60)
    engine.embedder.clear_cache()
    given = engine.finish_search(pending)
    assert not engine.embedder.is_cached(q)  # the model did not run again for this search
    embedded = engine.search(SearchRequest(q, record=False))
    assert [(h.artifact.artifact.slug, h.score) for h in given.hits] == [
        (h.artifact.artifact.slug, h.score) for h in embedded.hits
    ]


def test_a_repeated_search_reuses_its_ranking_and_reads_its_records_fresh(
    indexed_settings: Settings, tmp_path: Path
) -> None:
    def ranking(result: SearchResult) -> list[tuple[str, float, list[str]]]:
        return [(h.artifact.artifact.slug, h.score, [m.cap_id for m in h.matches]) for h in result.hits]

    request = SearchRequest("vector database", client_id="tester")
    with Matchgraph(indexed_settings) as server:
        assert server.recorder is not None
        first = server.search(request)
        server.recorder.flush()
        hits_before = server.pages.hits
        again = server.search(request)
        assert server.pages.hits == hits_before + 1
        assert ranking(again) == ranking(first)
        assert again.search_id != first.search_id
        # the ranking was kept, the artifact's counts were read again: they include the first search
        assert again.hits[0].artifact.raw_matches == first.hits[0].artifact.raw_matches + 1
        # another page of the same query is its own entry, not the first page again
        second_page = server.search(SearchRequest("vector database", offset=1, limit=2, record=False))
        assert ranking(second_page) == ranking(first)[1:3]
        assert [h.rank for h in second_page.hits] == [2, 3]

        # a new index version answers from its own ranking, never the one kept before it
        publish_a_second_vecstore(indexed_settings, tmp_path, server)
        after = server.search(request)
    assert after.index_version != first.index_version
    assert "vecstore-two" in [h.artifact.artifact.slug for h in after.hits]
