"""The SQLite admin store: API keys (hashes only) and the index job's runs."""

from __future__ import annotations

import json

import sqlite_utils

from matchgraph.engine.errors import NotFound
from matchgraph.engine.store.records import ApiKeyRow, ReindexRun
from matchgraph.engine.store.sqlite.database import SQLiteDatabase, now


class SQLiteAdmin:
    def __init__(self, database: SQLiteDatabase):
        self.database = database

    @property
    def db(self) -> sqlite_utils.Database:
        return self.database.db

    # -- API keys -------------------------------------------------------------------------
    def add_api_key(self, key_id: str, name: str, secret_hash: str, scopes: list[str]) -> ApiKeyRow:
        with self.database.transaction() as conn:
            conn.execute(
                "INSERT INTO api_keys (key_id, name, secret_hash, scopes, created_at) VALUES (?,?,?,?,?)",
                (key_id, name, secret_hash, json.dumps(scopes), now()),
            )
        return self.get_api_key(key_id)

    def get_api_key(self, key_id: str) -> ApiKeyRow:
        row = self.db.execute(
            "SELECT key_id, name, secret_hash, scopes, created_at, revoked_at FROM api_keys"
            " WHERE key_id = ?", [key_id],
        ).fetchone()
        if row is None:
            raise NotFound(f"no API key {key_id!r}")
        return ApiKeyRow(row[0], row[1], row[2], tuple(json.loads(row[3])), row[4], row[5])

    def list_api_keys(self) -> list[ApiKeyRow]:
        ids = [r[0] for r in self.db.execute("SELECT key_id FROM api_keys ORDER BY created_at, key_id")]
        return [self.get_api_key(i) for i in ids]

    def revoke_api_key(self, key_id: str) -> ApiKeyRow:
        self.get_api_key(key_id)
        with self.database.transaction() as conn:
            conn.execute("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE key_id = ?",
                         (now(), key_id))
        return self.get_api_key(key_id)

    # -- index job runs -----------------------------------------------------------------
    def start_reindex_run(self) -> int:
        with self.database.transaction() as conn:
            cur = conn.execute("INSERT INTO reindex_runs (started_at, outcome) VALUES (?, 'running')",
                               (now(),))
            return int(cur.lastrowid or 0)

    def finish_reindex_run(self, run: ReindexRun) -> None:
        with self.database.transaction() as conn:
            conn.execute(
                "UPDATE reindex_runs SET finished_at=?, outcome=?, version=?, capabilities=?,"
                " embedded=?, reused=?, deleted=?, note=? WHERE id=?",
                (now(), run.outcome, run.version, run.capabilities, run.embedded, run.reused,
                 run.deleted, run.note, run.id),
            )

    def abandon_running_runs(self, note: str) -> int:
        """Mark runs whose job died mid-way (still 'running' when the lock was free)."""
        with self.database.transaction() as conn:
            cur = conn.execute(
                "UPDATE reindex_runs SET outcome='killed', note=? WHERE outcome='running'", (note,)
            )
            return cur.rowcount

    def reindex_runs(self, limit: int = 20) -> list[ReindexRun]:
        rows = self.db.execute(
            "SELECT id, started_at, finished_at, outcome, version, capabilities, embedded, reused,"
            " deleted, note FROM reindex_runs ORDER BY id DESC LIMIT ?",
            [limit],
        ).fetchall()
        return [ReindexRun(*row) for row in rows]
