from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.search.searcher import SearchRequest
from matchgraph.engine.settings import Settings


def test_every_search_records_a_search_row_and_its_matches(engine: Matchgraph) -> None:
    result = engine.search(SearchRequest("transcribe audio to text", client_id="alice", limit=3))
    assert engine.recorder is not None and engine.recorder.flush()
    row = next(engine.stores.database.db.query("SELECT * FROM searches WHERE id = ?", [result.search_id]))
    assert row["normalized_query"] == "transcribe audio to text"
    assert row["result_count"] == len(result.hits)
    assert row["client_hash"] and "alice" not in row["client_hash"]
    matches = list(engine.stores.database.db.query("SELECT * FROM matches WHERE search_id = ?",
                                         [result.search_id]))
    assert len(matches) == sum(len(h.matches) for h in result.hits)


def test_times_matched_counts_distinct_clients_queries_and_days(engine: Matchgraph) -> None:
    for _ in range(3):  # one client repeating itself counts once (raw count keeps all three)
        engine.search(SearchRequest("transcribe audio to text", limit=1, client_id="alice"))
    engine.search(SearchRequest("Transcribe  AUDIO to text", limit=1, client_id="alice"))
    engine.search(SearchRequest("transcribe audio to text", limit=1, client_id="bob"))
    engine.search(SearchRequest("speech to text please", limit=1, client_id="bob"))
    engine.search(SearchRequest("vector database", limit=1, client_id="bob"))
    assert engine.recorder is not None and engine.recorder.flush()
    speechy = engine.get_artifact("speechy")
    assert (speechy.times_matched, speechy.raw_matches) == (3, 6)
    cap = engine.get_capability("speechy/transcription")
    assert (cap.times_matched, cap.raw_matches) == (3, 6)
    assert speechy.capability_times_matched["speechy/transcription"] == 3
    assert engine.get_artifact("pixel-forge").times_matched == 0
    # in a later batch, a unit already seen moves only the raw count; a new one moves both
    engine.search(SearchRequest("transcribe audio to text", limit=1, client_id="alice"))
    engine.search(SearchRequest("transcribe audio to text", limit=1, client_id="carol"))
    assert engine.recorder.flush()
    again = engine.get_artifact("speechy")
    assert (again.times_matched, again.raw_matches) == (4, 8)


def test_a_thousand_repeats_move_the_count_by_one(engine: Matchgraph) -> None:
    for _ in range(1000):
        engine.search(SearchRequest("transcribe audio to text", limit=1, client_id="mallory"))
    assert engine.recorder is not None and engine.recorder.flush()
    speechy = engine.get_artifact("speechy")
    assert speechy.times_matched == 1 and speechy.raw_matches == 1000


def test_no_record_leaves_the_log_untouched(engine: Matchgraph) -> None:
    engine.search(SearchRequest("transcribe audio", record=False))
    assert engine.recorder is not None and engine.recorder.flush()
    assert engine.health().counts.searches == 0


def test_clean_shutdown_flushes_everything_acknowledged(indexed_settings: Settings) -> None:
    slow = indexed_settings.changed(writer_flush_seconds=30.0,
                                               writer_batch_size=10_000)
    mg = Matchgraph(slow)
    ids = [mg.search(SearchRequest(f"audio transcription {i}", limit=2)).search_id
           for i in range(40)]
    assert mg.recorder is not None and mg.recorder.pending > 0  # still queued, not written
    mg.close()
    with Matchgraph(slow, record=False) as fresh:
        stored = {r["id"] for r in fresh.stores.database.db.query("SELECT id FROM searches")}
    assert stored == set(ids)


def test_the_match_writer_runs_at_a_lower_cpu_priority(indexed_settings: Settings) -> None:
    if sys.platform != "linux":
        pytest.skip("thread priorities are set on Linux only")

    def nice_of(tid: int) -> int:
        stat = Path(f"/proc/self/task/{tid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[16])  # field 19 of proc(5): nice

    settings = indexed_settings.changed(writer_nice=7)
    with Matchgraph(settings) as mg:
        assert mg.recorder is not None
        mg.search(SearchRequest("transcribe audio to text"))
        assert mg.recorder.flush()  # the writer has run, so its priority is set
        writer = mg.recorder.thread_id
        assert writer is not None
        assert nice_of(writer) == nice_of(threading.get_native_id()) + 7


def test_a_writer_that_falls_behind_holds_back_new_searches(indexed_settings: Settings) -> None:
    """Back-pressure bounds what a crash can lose: never more than writer_max_pending
    acknowledged searches are waiting to be written, however slow the writes are."""
    import time

    slow = indexed_settings.changed(writer_flush_seconds=0.2, writer_batch_size=3, writer_max_pending=4)
    with Matchgraph(slow) as mg:
        recorder = mg.recorder
        assert recorder is not None
        write = recorder.matchlog.record_searches

        def slow_write(records: object) -> None:
            time.sleep(0.15)  # a disk under load
            write(records)  # type: ignore[arg-type]

        recorder.matchlog.record_searches = slow_write  # type: ignore[method-assign]
        peak = 0
        for i in range(20):
            mg.search(SearchRequest(f"audio transcription {i}", limit=2))
            peak = max(peak, recorder.pending)
        assert peak <= 4
        assert recorder.flush() and recorder.pending == 0
