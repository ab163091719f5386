"""A server killed with SIGKILL loses no acknowledged match beyond the last batch window."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from . import servers

WINDOW = 0.2  # MATCHGRAPH_WRITER_FLUSH_SECONDS for this test


def start_server(state: Path) -> tuple[subprocess.Popen[bytes], str]:
    server = servers.start_server(state, {"MATCHGRAPH_ANON_RATE_PER_MINUTE": "0",
                                          "MATCHGRAPH_WRITER_FLUSH_SECONDS": str(WINDOW)}, wait_s=60)
    return server.proc, server.base


def stored(state: Path) -> tuple[set[str], int, int]:
    with sqlite3.connect(state / "matchgraph.db") as db:
        ids = {r[0] for r in db.execute("SELECT id FROM searches WHERE source = 'crash'")}
        partial = db.execute(
            "SELECT COUNT(*) FROM searches s WHERE s.source = 'crash' AND s.result_count > 0 AND"
            " NOT EXISTS (SELECT 1 FROM matches m WHERE m.search_id = s.id)"
        ).fetchone()[0]
        orphans = db.execute(
            "SELECT COUNT(*) FROM matches m"
            " WHERE NOT EXISTS (SELECT 1 FROM searches s WHERE s.id = m.search_id)"
        ).fetchone()[0]
    return ids, partial, orphans


@pytest.mark.slow
def test_sigkill_loses_nothing_acknowledged_before_the_last_window(
    indexed_state: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    shutil.copytree(indexed_state, state)
    proc, base = start_server(state)
    acknowledged: list[str] = []
    with httpx.Client(base_url=base) as http:
        for i in range(60):
            r = http.get("/v1/search", params={"q": f"transcribe audio {i}", "source": "crash"})
            assert r.status_code == 200
            acknowledged.append(r.json()["search_id"])
        time.sleep(WINDOW * 4)  # older than one batch window
        recent: list[tuple[float, str]] = []
        for i in range(30):  # then keep answering right up to the kill
            r = http.get("/v1/search", params={"q": f"vector search {i}", "source": "crash"})
            recent.append((time.monotonic(), r.json()["search_id"]))
    proc.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    proc.wait(timeout=30)
    ids, partial, orphans = stored(state)
    assert set(acknowledged) <= ids  # everything older than the window survived
    old_recent = {sid for t, sid in recent if killed_at - t > WINDOW * 2}
    assert old_recent <= ids  # what was lost, if anything, was answered in the last window
    assert partial == 0 and orphans == 0  # batches are whole: a search with all its matches or none
