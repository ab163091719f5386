"""Dense search served by PostgreSQL with pgvector, shared by every replica.

Each index version's vectors live in a table of their own (``mg_dense_<version>``: capability
row id, position, text hash, the indexed text and the vector) with an HNSW index over inner
product; the versions are rows of ``mg_index_versions`` and the one being served is the single
row of ``mg_index_current``, so publishing is one ``UPDATE`` in one transaction. A replica that
sees another version named there copies its ids, texts and vectors down (``fetch``), builds
its BM25 index from those texts and serves the version from then on (``engine.jobs`` does the
following; this module only talks to the database).

The process uses one ``PgVectorStore`` (``use_database``); version folders on disk hold only
``pgvector.json`` (the table, never the URL or its password). When PostgreSQL cannot be
reached, a version's searches fall back to exact search over the vectors the replica holds in
memory, so searching goes on through an outage with the same answers (exact, not approximate).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg_pool import ConnectionPool, PoolTimeout

from matchgraph.index.errors import IndexNotReady, MatchgraphError

logger = logging.getLogger(__name__)
INDEX_FILE = "pgvector.json"
KIND = "pgvector"
CLUSTER_LOCK = 0x6D67_0010  # the index job, across every replica on this database
EXACT_BELOW = 2_000  # an allow-list this short is searched exactly (HNSW would post-filter it)
RETRY_AFTER = 5.0  # seconds an unreachable database is left alone before the next try

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE IF NOT EXISTS mg_index_versions (
    version TEXT PRIMARY KEY,
    dense_table TEXT NOT NULL,
    manifest TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS mg_index_current (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    version TEXT NOT NULL REFERENCES mg_index_versions(version),
    switched_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
"""


def _array(value: Any) -> np.ndarray:
    """A vector column as float32 (pgvector's loader gives a ``Vector`` or an array by version)."""
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=np.float32)


def table_name(version: str) -> str:
    return "mg_dense_" + re.sub(r"[^a-z0-9]", "_", version.lower())


class DenseUnavailable(MatchgraphError):
    """The shared dense index cannot be reached."""


class PgVectorStore:
    """The index versions held in one PostgreSQL database."""

    def __init__(self, url: str, pool_size: int = 4, ef_search: int = 128, timeout: float = 2.0):
        self.url = url
        self.ef_search = ef_search
        self._down_until = 0.0
        self._ready = False
        self._ready_lock = threading.Lock()
        self.pool = ConnectionPool(url, min_size=0, max_size=max(1, pool_size), timeout=timeout, open=True,
                                   kwargs={"autocommit": True, "connect_timeout": max(1, int(timeout))},
                                   configure=self._configure, name="matchgraph-pgvector")

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        if not self._ready:
            self.ensure_schema(conn)
        register_vector(conn)
        conn.execute(f"SET hnsw.ef_search = {int(self.ef_search)}")
        conn.execute("SET hnsw.iterative_scan = strict_order")  # filtered searches still fill k

    def ensure_schema(self, conn: psycopg.Connection[Any]) -> None:
        with self._ready_lock, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (CLUSTER_LOCK + 1,))
            conn.execute(SCHEMA)
            self._ready = True

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self.pool.connection() as conn:
                yield conn
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise DenseUnavailable(f"the shared dense index is unavailable: {exc}") from exc

    @property
    def reachable(self) -> bool:
        """False for a while after a failed attempt (searches then skip straight to the fallback)."""
        return time.monotonic() >= self._down_until

    def mark_down(self) -> None:
        self._down_until = time.monotonic() + RETRY_AFTER

    # -- publishing -----------------------------------------------------------------------
    def build(
        self, version: str, ids: np.ndarray, hashes: list[str], texts: list[str], vectors: np.ndarray,
        hnsw_m: int, ef_construction: int,
    ) -> PgVectorIndex:
        """Write a version's table and its HNSW index (not yet current)."""
        table = table_name(version)
        dim = int(vectors.shape[1])
        with self.connection() as conn, conn.transaction():
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            columns = "capability_id, position, text_hash, index_text, embedding"
            conn.execute(f"CREATE TABLE {table} (capability_id BIGINT PRIMARY KEY, position INTEGER NOT NULL,"
                         " text_hash TEXT NOT NULL, index_text TEXT NOT NULL,"
                         f" embedding vector({dim}) NOT NULL)")
            # vectors stay in the row, never TOASTed: a row with its text is over TOAST's 2 kB, and
            # an out-of-line vector made each distance a detour (a search of 1,707 rows 5 ms, not 1)
            conn.execute(f"ALTER TABLE {table} ALTER COLUMN embedding SET STORAGE PLAIN")
            with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "int4", "text", "text", "vector"])
                for pos, (row_id, h, text) in enumerate(zip(ids.tolist(), hashes, texts)):
                    copy.write_row((row_id, pos, h, text, np.asarray(vectors[pos], dtype=np.float32)))
            conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
            conn.execute(f"CREATE INDEX ON {table} USING hnsw (embedding vector_ip_ops)"
                         f" WITH (m = {int(hnsw_m)}, ef_construction = {int(ef_construction)})")
        return PgVectorIndex(self, version, len(ids))

    def publish(self, version: str, manifest_json: str) -> None:
        """Make ``version`` the one every replica serves: one transaction."""
        with self.connection() as conn, conn.transaction():
            conn.execute("INSERT INTO mg_index_versions (version, dense_table, manifest) VALUES (%s, %s, %s)"
                         " ON CONFLICT (version) DO UPDATE SET manifest = excluded.manifest",
                         (version, table_name(version), manifest_json))
            conn.execute("INSERT INTO mg_index_current (one, version) VALUES (TRUE, %s) ON CONFLICT (one)"
                         " DO UPDATE SET version = excluded.version, switched_at = now()", (version,))

    def discard(self, version: str) -> None:
        """Drop a version that was built but never published (it failed verification)."""
        with self.connection() as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table_name(version)}")

    def prune(self, keep: int) -> list[str]:
        """Drop all but the newest ``keep`` published versions (never the current one)."""
        with self.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (CLUSTER_LOCK + 1,))
            current = conn.execute("SELECT version FROM mg_index_current").fetchone()
            names = [r[0] for r in conn.execute("SELECT version FROM mg_index_versions ORDER BY version")]
            survivors = set(names[-keep:]) | ({current[0]} if current else set())
            gone = [n for n in names if n not in survivors]
            for name in gone:
                conn.execute(f"DROP TABLE IF EXISTS {table_name(name)}")
                conn.execute("DELETE FROM mg_index_versions WHERE version = %s", (name,))
        return gone

    # -- following ------------------------------------------------------------------------
    def current(self) -> str | None:
        with self.connection() as conn:
            row = conn.execute("SELECT version FROM mg_index_current").fetchone()
        return str(row[0]) if row else None

    def fetch(self, version: str) -> tuple[str, np.ndarray, list[str], list[str], np.ndarray]:
        """A published version's manifest (JSON), ids, text hashes, texts and vectors, in position
        order."""
        with self.connection() as conn:
            found = conn.execute("SELECT manifest FROM mg_index_versions WHERE version = %s",
                                 (version,)).fetchone()
            if found is None:
                raise IndexNotReady(f"index version {version} is not in the database")
            rows = conn.execute(f"SELECT capability_id, text_hash, index_text, embedding FROM"
                                f" {table_name(version)} ORDER BY position").fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vectors = (np.stack([_array(r[3]) for r in rows]) if rows
                   else np.zeros((0, json.loads(found[0])["dimension"]), np.float32))
        return str(found[0]), ids, [r[1] for r in rows], [r[2] for r in rows], vectors

    def index(self, version: str, count: int) -> PgVectorIndex:
        return PgVectorIndex(self, version, count)

    @contextmanager
    def cluster_lock(self, wait: bool) -> Iterator[bool]:
        """The index job's lock across replicas: a session advisory lock on a connection of its
        own (PostgreSQL releases it if this process dies). Yields whether it is held."""
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            raise DenseUnavailable(f"cannot take the index lock: {exc}") from exc
        try:
            if wait:
                conn.execute("SELECT pg_advisory_lock(%s)", (CLUSTER_LOCK,))
                held = True
            else:
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (CLUSTER_LOCK,)).fetchone()
                held = bool(row and row[0])
            yield held
        finally:
            conn.close()  # ends the session, and with it the lock

    def close(self) -> None:
        self.pool.close()


class PgVectorIndex:
    """One version's dense index in PostgreSQL (``index.dense.DenseIndex``)."""

    kind = KIND
    retired = 0

    def __init__(self, store: PgVectorStore, version: str, count: int):
        self.store = store
        self.version = version
        self.table = table_name(version)
        self.count = count
        self.local: tuple[np.ndarray, np.ndarray] | None = None  # (ids, vectors) for the fallback
        self.fallbacks = 0

    @property
    def size(self) -> int:
        return self.count

    def params(self) -> dict[str, int]:
        return {}

    def search(
        self, vectors: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        n = len(vectors)
        k = max(1, min(k, self.count)) if self.count else 1
        scores, ids = np.zeros((n, k), np.float32), np.full((n, k), -1, np.int64)
        if self.count == 0 or (allowed is not None and len(allowed) == 0):
            return scores, ids
        if allowed is not None and len(allowed) < EXACT_BELOW and self.local is not None:
            # a short allow-list is searched exactly; this replica holds the version's vectors, so
            # the exact answer costs no round trip (PostgreSQL would compute the same one)
            return self._search_local(vectors, k, allowed, scores, ids)
        if self.store.reachable:
            try:
                return self._search_database(vectors, k, allowed, scores, ids)
            except DenseUnavailable as exc:
                self.store.mark_down()
                logger.warning("dense search falls back to this replica's copy of the vectors: %s", exc)
        if self.local is None:
            raise DenseUnavailable("the shared dense index is unavailable and no local copy is loaded")
        self.fallbacks += 1
        return self._search_local(vectors, k, allowed, scores, ids)

    def _search_database(self, vectors: np.ndarray, k: int, allowed: np.ndarray | None,
                         scores: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        where, params = "", []
        order = "embedding <#> %s"
        if allowed is not None:
            where, params = "WHERE capability_id = ANY(%s)", [allowed.astype(np.int64).tolist()]
            if len(allowed) < EXACT_BELOW:
                order = "(embedding <#> %s) + 0"  # not the indexed expression: an exact scan
        sql = f"SELECT capability_id, -(embedding <#> %s) FROM {self.table} {where} ORDER BY {order} LIMIT %s"
        with self.store.connection() as conn:
            for row, vector in enumerate(np.asarray(vectors, np.float32)):
                try:
                    found = conn.execute(sql, [vector, *params, vector, k]).fetchall()
                except psycopg.errors.UndefinedTable as exc:  # pruned while this replica was away
                    gone = f"index version {self.version} is no longer in the database"
                    raise DenseUnavailable(gone) from exc
                for col, (row_id, score) in enumerate(found):
                    ids[row, col], scores[row, col] = row_id, score
        return scores, ids

    def _search_local(self, vectors: np.ndarray, k: int, allowed: np.ndarray | None,
                      scores: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert self.local is not None
        local_ids, local_vectors = self.local
        pool = np.arange(len(local_ids)) if allowed is None else np.flatnonzero(np.isin(local_ids, allowed))
        sims = np.asarray(vectors, np.float32) @ local_vectors[pool].T
        for row in range(len(vectors)):
            top = np.argsort(-sims[row], kind="stable")[:k]
            ids[row, : len(top)] = local_ids[pool[top]]
            scores[row, : len(top)] = sims[row, top]
        return scores, ids

    def save(self, directory: Path) -> None:
        (directory / INDEX_FILE).write_text(json.dumps({"version": self.version, "table": self.table,
                                                        "count": self.count}), encoding="utf-8")


_store: PgVectorStore | None = None


def use_database(url: str | None, ef_search: int = 128) -> PgVectorStore | None:
    """Set (or clear) the database this process keeps and serves pgvector versions in."""
    global _store
    if _store is not None and (url is None or _store.url != url):
        _store.close()
        _store = None
    if url and _store is None:
        _store = PgVectorStore(url, ef_search=ef_search)
    return _store


def shared_store() -> PgVectorStore:
    if _store is None:
        raise IndexNotReady("this index version is kept in PostgreSQL (pgvector); set "
                            "MATCHGRAPH_DATABASE_URL to serve it")
    return _store


def load_pgvector(directory: Path) -> PgVectorIndex:
    try:
        info = json.loads((directory / INDEX_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexNotReady(f"index version at {directory} has no readable {INDEX_FILE}: {exc}") from exc
    return PgVectorIndex(shared_store(), str(info["version"]), int(info["count"]))
