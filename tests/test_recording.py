from __future__ import annotations

from engine.search import SearchRequest
from engine.service import Matchgraph
from engine.settings import Settings


def test_every_search_records_a_search_row_and_its_matches(engine: Matchgraph) -> None:
    result = engine.search(SearchRequest("transcribe audio to text", client_id="alice", limit=3))
    assert engine.recorder is not None and engine.recorder.flush()
    row = next(engine.store.db.query("SELECT * FROM searches WHERE id = ?", [result.search_id]))
    assert row["normalized_query"] == "transcribe audio to text"
    assert row["result_count"] == len(result.hits)
    assert row["client_hash"] and "alice" not in row["client_hash"]
    matches = list(engine.store.db.query("SELECT * FROM matches WHERE search_id = ?",
                                         [result.search_id]))
    assert len(matches) == sum(len(h.matches) for h in result.hits)


def test_times_matched_counts_per_artifact_and_capability(engine: Matchgraph) -> None:
    for _ in range(3):
        engine.search(SearchRequest("transcribe audio to text", limit=1))
    engine.search(SearchRequest("vector database", limit=1))
    assert engine.recorder is not None and engine.recorder.flush()
    speechy = engine.get_artifact("speechy")
    per_search = sum(1 for _ in speechy.artifact.capabilities)  # both capabilities match
    assert speechy.times_matched == 3 * per_search
    assert engine.get_capability("speechy/transcription").times_matched == 3
    assert engine.get_artifact("pixel-forge").times_matched == 0


def test_no_record_leaves_the_log_untouched(engine: Matchgraph) -> None:
    engine.search(SearchRequest("transcribe audio", record=False))
    assert engine.recorder is not None and engine.recorder.flush()
    assert engine.store.counts().searches == 0


def test_clean_shutdown_flushes_everything_acknowledged(indexed_settings: Settings) -> None:
    slow = indexed_settings.model_copy(update={"writer_flush_seconds": 30.0,
                                               "writer_batch_size": 10_000})
    mg = Matchgraph(slow)
    ids = [mg.search(SearchRequest(f"audio transcription {i}", limit=2)).search_id
           for i in range(40)]
    assert mg.recorder is not None and mg.recorder.pending > 0  # still queued, not written
    mg.close()
    with Matchgraph(slow, record=False) as fresh:
        stored = {r["id"] for r in fresh.store.db.query("SELECT id FROM searches")}
    assert stored == set(ids)
