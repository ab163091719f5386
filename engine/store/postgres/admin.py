"""The PostgreSQL admin store: API keys (hashes only) and rate-limit buckets, shared by every
replica, and the index job's runs."""

from __future__ import annotations

import json
import random

from matchgraph.engine.errors import NotFound
from matchgraph.engine.store.postgres.database import DatabaseUnavailable, PostgresDatabase, now
from matchgraph.engine.store.records import ApiKeyRow, ReindexRun

KEY_COLUMNS = "key_id, name, secret_hash, scopes, created_at, revoked_at"


def _key(row: tuple) -> ApiKeyRow:  # type: ignore[type-arg]
    return ApiKeyRow(row[0], row[1], row[2], tuple(json.loads(row[3])), row[4], row[5])


class PostgresAdmin:
    def __init__(self, database: PostgresDatabase):
        self.database = database
        self._known_keys: dict[str, ApiKeyRow] = {}

    def add_api_key(self, key_id: str, name: str, secret_hash: str, scopes: list[str]) -> ApiKeyRow:
        with self.database.transaction() as conn:
            conn.execute("INSERT INTO api_keys (key_id, name, secret_hash, scopes, created_at)"
                         " VALUES (%s,%s,%s,%s,%s)", (key_id, name, secret_hash, json.dumps(scopes), now()))
        return self.get_api_key(key_id)

    def get_api_key(self, key_id: str) -> ApiKeyRow:
        """The key's row; while the database is down, the row last read (keys in use keep working)."""
        try:
            row = self.database.one(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE key_id = %s", (key_id,))
        except DatabaseUnavailable:
            if key_id in self._known_keys:
                return self._known_keys[key_id]
            raise
        if row is None:
            self._known_keys.pop(key_id, None)
            raise NotFound(f"no API key {key_id!r}")
        self._known_keys[key_id] = found = _key(row)
        return found

    def list_api_keys(self) -> list[ApiKeyRow]:
        return [_key(r) for r in self.database.rows(
            f'SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, key_id COLLATE "C"')]

    def revoke_api_key(self, key_id: str) -> ApiKeyRow:
        self.get_api_key(key_id)
        with self.database.transaction() as conn:
            conn.execute("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, %s) WHERE key_id = %s",
                         (now(), key_id))
        return self.get_api_key(key_id)

    def start_reindex_run(self) -> int:
        with self.database.transaction() as conn:
            row = conn.execute("INSERT INTO reindex_runs (started_at, outcome) VALUES (%s, 'running')"
                               " RETURNING id", (now(),)).fetchone()
        assert row is not None
        return int(row[0])

    def finish_reindex_run(self, run: ReindexRun) -> None:
        with self.database.transaction() as conn:
            conn.execute(
                "UPDATE reindex_runs SET finished_at=%s, outcome=%s, version=%s, capabilities=%s,"
                " embedded=%s, reused=%s, deleted=%s, note=%s WHERE id=%s",
                (now(), run.outcome, run.version, run.capabilities, run.embedded, run.reused, run.deleted,
                 run.note, run.id),
            )

    def abandon_running_runs(self, note: str) -> int:
        with self.database.transaction() as conn:
            return conn.execute("UPDATE reindex_runs SET outcome='killed', note=%s WHERE outcome='running'",
                                (note,)).rowcount

    def reindex_runs(self, limit: int = 20) -> list[ReindexRun]:
        rows = self.database.rows(
            "SELECT id, started_at, finished_at, outcome, version, capabilities, embedded, reused, deleted,"
            " note FROM reindex_runs ORDER BY id DESC LIMIT %s", (limit,),
        )
        return [ReindexRun(*row) for row in rows]

    # -- rate limits, shared ----------------------------------------------------------------
    def take_token(self, bucket: str, per_minute: int) -> float:
        """Take one token from ``bucket`` (refilled at ``per_minute``, holding at most that many);
        0.0 if the request may go ahead, else the seconds until it could. One statement, so
        replicas taking from one bucket at once each see the other's takes; time is the
        database's clock, so replicas' clocks do not matter."""
        if per_minute <= 0:
            return 0.0
        rate = per_minute / 60.0
        refilled = "LEAST(%(cap)s, b.tokens + (extract(epoch from clock_timestamp()) - b.at) * %(rate)s)"
        with self.database.connection() as conn:
            row = conn.execute(
                "INSERT INTO rate_buckets AS b (bucket, tokens, at) VALUES (%(bucket)s, %(cap)s - 1,"
                " extract(epoch from clock_timestamp())) ON CONFLICT (bucket) DO UPDATE SET"
                f" granted = {refilled} >= 1,"
                f" tokens = CASE WHEN {refilled} >= 1 THEN {refilled} - 1 ELSE {refilled} END,"
                " at = extract(epoch from clock_timestamp()) RETURNING b.granted, b.tokens",
                {"bucket": bucket, "cap": float(per_minute), "rate": rate},
            ).fetchone()
            if random.random() < 0.001:  # forget buckets idle long enough to be full again
                conn.execute("DELETE FROM rate_buckets"
                             " WHERE at < extract(epoch from clock_timestamp()) - 3600")
        assert row is not None
        granted, tokens = bool(row[0]), float(row[1])
        return 0.0 if granted else (1.0 - tokens) / rate
