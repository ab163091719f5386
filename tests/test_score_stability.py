"""The rule for stable scores (README, "How scores move"): evidence is counted by distinct
verified clients, so a few clients move a score little and many clients can move it a lot."""

from __future__ import annotations

from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.search.searcher import SearchRequest
from matchgraph.engine.settings import Settings

NEEDS = ["transcribe audio to text", "speech recognition for calls", "turn a podcast into text",
         "run an LLM locally", "vector database for RAG", "hybrid keyword and vector search",
         "generate product photos", "let an assistant read my postgres tables",
         "local model runner with a CLI", "subtitles from a video"]


def scores(mg: Matchgraph) -> dict[str, float]:
    summary = mg.rank()
    slugs = {r.row_id: r.artifact.slug for r in mg.records.all_artifacts()}
    return {slugs[row_id]: row.score for row_id, row in summary.scores.items()}


def test_a_hundred_searches_from_three_clients_move_no_score_more_than_three_points(
    indexed_settings: Settings,
) -> None:
    with Matchgraph(indexed_settings) as mg:
        before = scores(mg)
        for i in range(100):  # each client cycles through many needs, as a scripted abuser would
            need = f"{NEEDS[i % len(NEEDS)]} {'' if i < 30 else f'variant {i}'}".strip()
            mg.search(SearchRequest(need, limit=5, client_id=f"ip:10.5.0.{i % 3}"))
        after = scores(mg)
    moved = {slug: round(after[slug] - before[slug], 1) for slug in before}
    assert max(abs(v) for v in moved.values()) <= 3.0, moved


def test_sustained_evidence_from_many_clients_moves_a_score_ten_points(indexed_settings: Settings) -> None:
    with Matchgraph(indexed_settings) as mg:
        before = scores(mg)["speechy"]
        for i in range(60):
            mg.search(SearchRequest(NEEDS[i % 3], limit=5, client_id=f"ip:10.6.{i // 250}.{i % 250}"))
        after = scores(mg)["speechy"]
    assert after - before >= 10, (before, after)
