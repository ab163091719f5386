"""The SQLite database all four SQLite stores share: one WAL-mode file, one connection per
thread, the schema, and all-or-nothing transactions.

Reads go through sqlite-utils; writes are plain SQL inside one explicit transaction, so a
batch is written whole or not at all. SQLite connections are not shared across threads;
WAL lets readers run while the match writer commits.
"""

from __future__ import annotations

import fcntl
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

SCHEMA = """
CREATE TABLE IF NOT EXISTS artifacts (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    pricing_model TEXT NOT NULL,
    free_tier INTEGER NOT NULL,
    categories TEXT NOT NULL,
    tags TEXT NOT NULL,
    updated_at TEXT,
    doc TEXT NOT NULL,
    doc_hash TEXT NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS capabilities (
    id INTEGER PRIMARY KEY,
    cap_id TEXT NOT NULL UNIQUE,
    artifact_id INTEGER NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    index_text TEXT NOT NULL,
    doc TEXT NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS capabilities_artifact ON capabilities(artifact_id, position);
CREATE TABLE IF NOT EXISTS searches (
    id TEXT PRIMARY KEY,
    query TEXT NOT NULL,
    normalized_query TEXT NOT NULL,
    created_at TEXT NOT NULL,
    source TEXT NOT NULL,
    client_hash TEXT,
    day TEXT NOT NULL,
    filters TEXT NOT NULL,
    result_count INTEGER NOT NULL,
    index_version TEXT
);
CREATE INDEX IF NOT EXISTS searches_created ON searches(created_at);
CREATE TABLE IF NOT EXISTS matches (
    id INTEGER PRIMARY KEY,
    search_id TEXT NOT NULL,
    capability_id INTEGER NOT NULL,
    artifact_id INTEGER NOT NULL,
    rank INTEGER NOT NULL,
    score REAL NOT NULL,
    artifact_rank INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS matches_capability ON matches(capability_id);
CREATE INDEX IF NOT EXISTS matches_artifact ON matches(artifact_id);
CREATE INDEX IF NOT EXISTS matches_search ON matches(search_id);
CREATE TABLE IF NOT EXISTS match_counts (
    kind INTEGER NOT NULL,          -- 0: artifact, 1: capability
    id INTEGER NOT NULL,
    units INTEGER NOT NULL,         -- distinct (client, normalised query, day)
    raw INTEGER NOT NULL,           -- every search
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS match_seen (
    kind INTEGER NOT NULL,
    id INTEGER NOT NULL,
    unit TEXT NOT NULL,
    PRIMARY KEY (kind, id, unit)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS reindex_runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT NOT NULL,
    version TEXT,
    capabilities INTEGER,
    embedded INTEGER,
    reused INTEGER,
    deleted INTEGER,
    note TEXT
);



CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    search_id TEXT NOT NULL,
    artifact_id INTEGER NOT NULL,
    capability_id INTEGER NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL,
    client_hash TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (search_id, artifact_id, capability_id, outcome, client_hash)
);
CREATE INDEX IF NOT EXISTS feedback_artifact ON feedback(artifact_id);
CREATE TABLE IF NOT EXISTS fold_state (  -- how far the evidence counters have read the log
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS unit_members (  -- artifacts in the top results of each unit
    unit TEXT NOT NULL,
    artifact_id INTEGER NOT NULL,
    PRIMARY KEY (unit, artifact_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS unit_appearances (
    artifact_id INTEGER PRIMARY KEY,
    units INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS unit_pairs (
    a INTEGER NOT NULL,
    b INTEGER NOT NULL,
    co INTEGER NOT NULL,
    PRIMARY KEY (a, b)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS artifact_clients (  -- distinct clients with the artifact in a unit's top
    artifact_id INTEGER NOT NULL,
    client_hash TEXT NOT NULL,
    PRIMARY KEY (artifact_id, client_hash)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS query_seen (
    normalized_query TEXT NOT NULL,
    capability_id INTEGER NOT NULL,
    client_hash TEXT NOT NULL,
    PRIMARY KEY (normalized_query, capability_id, client_hash)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS query_counts (
    normalized_query TEXT NOT NULL,
    capability_id INTEGER NOT NULL,
    artifact_id INTEGER NOT NULL,
    searches INTEGER NOT NULL,
    clients INTEGER NOT NULL,  -- distinct verified clients
    PRIMARY KEY (normalized_query, capability_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS graph_edges (
    a INTEGER NOT NULL,
    b INTEGER NOT NULL,
    kind TEXT NOT NULL,
    co_searches INTEGER NOT NULL,
    jaccard REAL NOT NULL,
    npmi REAL NOT NULL,
    similarity REAL NOT NULL,
    PRIMARY KEY (a, b)
);
CREATE INDEX IF NOT EXISTS graph_edges_b ON graph_edges(b);
CREATE TABLE IF NOT EXISTS query_edges (
    normalized_query TEXT NOT NULL,
    capability_id INTEGER NOT NULL,
    artifact_id INTEGER NOT NULL,
    searches INTEGER NOT NULL,
    units INTEGER NOT NULL,
    PRIMARY KEY (normalized_query, capability_id)
);
CREATE INDEX IF NOT EXISTS query_edges_artifact ON query_edges(artifact_id);
CREATE TABLE IF NOT EXISTS rank_runs (
    id INTEGER PRIMARY KEY,
    computed_at TEXT NOT NULL,
    as_of TEXT NOT NULL,
    searches INTEGER NOT NULL,
    feedback INTEGER NOT NULL,
    catalog_hash TEXT NOT NULL,
    settings TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scores (
    artifact_id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    score REAL NOT NULL,
    parts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS score_history (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    artifact_id INTEGER NOT NULL,
    score REAL NOT NULL,
    parts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS score_history_artifact ON score_history(artifact_id, run_id);
"""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SQLiteDatabase:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        db = self.db
        db.enable_wal()
        db.conn.executescript(SCHEMA)

    @property
    def db(self) -> sqlite_utils.Database:
        """The calling thread's connection (opened on first use)."""
        db = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=True)
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
            db = sqlite_utils.Database(conn)
            self._local.db = db
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    def count(self, table: str) -> int:
        return int(self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def close(self) -> None:
        """Close the calling thread's connection."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None

    def shutdown(self) -> None:
        """Close the calling thread's connection (other threads close their own when they end)."""
        self.close()

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """An ``flock`` on a file beside the database: every process (and thread) on this machine
        that opens it waits its turn; the system releases it if the holder dies."""
        with open(self.path.parent / f".{self.path.name}.{name}.lock", "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
