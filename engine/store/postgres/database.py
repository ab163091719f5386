"""The PostgreSQL database all four PostgreSQL stores share: a psycopg 3 connection pool, the
migrations applied on open, and all-or-nothing transactions.

Connections are borrowed per statement group and returned at once, so any thread may use the
stores; nothing is held per thread. Reads run in autocommit; writes run inside one explicit
transaction, optionally behind a transaction-scoped advisory lock that every replica honours.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from matchgraph.engine.errors import StoreUnavailable
from matchgraph.engine.store.postgres.schema import upgrade

CONNECT_TIMEOUT = 5.0
RETRY_AFTER = 2.0  # after a failed attempt, calls fail at once for this long instead of each waiting


class DatabaseUnavailable(StoreUnavailable):
    """PostgreSQL cannot be reached (or refused the connection)."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the configured database URL"
    host = info.get("host") or "localhost"
    user, port, name = info.get("user") or "", info.get("port") or 5432, info.get("dbname") or ""
    return f"postgresql://{user}@{host}:{port}/{name}"


class PostgresDatabase:
    def __init__(
        self, url: str, pool_size: int = 8, timeout: float = CONNECT_TIMEOUT, migrate: bool = True
    ):
        self.url = url
        self._down_until = 0.0
        self._down_reason = ""
        try:
            psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise DatabaseUnavailable(f"the database URL does not parse: {exc}") from None
        self.pool = ConnectionPool(url, min_size=1, max_size=max(1, pool_size), timeout=timeout, open=False,
                                   kwargs={"autocommit": True, "connect_timeout": max(1, int(timeout))},
                                   name="matchgraph")
        try:
            self.pool.open(wait=True, timeout=timeout)
        except PoolTimeout:
            self.pool.close()
            raise DatabaseUnavailable(f"cannot connect to {redact(url)} within {timeout:g}s") from None
        self.migrated: list[int] = self.upgrade() if migrate else []

    def upgrade(self) -> list[int]:
        """Apply the migrations this database lacks; the versions applied."""
        with self.transaction() as conn:
            return upgrade(conn)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection. While the database is known to be down, this fails at once (and
        tries again every ``RETRY_AFTER`` seconds), so an outage costs callers no waiting."""
        if time.monotonic() < self._down_until:
            raise DatabaseUnavailable(f"the database {redact(self.url)} is unavailable ({self._down_reason})")
        try:
            with self.pool.connection() as conn:
                yield conn
        except (PoolTimeout, psycopg.OperationalError) as exc:
            self._down_until = time.monotonic() + RETRY_AFTER
            self._down_reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DatabaseUnavailable(f"the database {redact(self.url)} is unavailable: {exc}") from exc
        self._down_until = 0.0

    @contextmanager
    def transaction(self, lock: int | None = None) -> Iterator[psycopg.Connection[Any]]:
        """One transaction: committed when the block ends, rolled back if it raises. ``lock``
        names an advisory lock held until the end of it (every replica waits on the same key)."""
        with self.connection() as conn, conn.transaction():
            if lock is not None:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
            yield conn

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """A session advisory lock named ``name``, across every replica (released by PostgreSQL
        if this process dies)."""
        key = int.from_bytes(hashlib.sha256(f"matchgraph:{name}".encode()).digest()[:8], "big", signed=True)
        with self.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connection() as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        with self.connection() as conn:
            return conn.execute(sql, params).fetchone()  # type: ignore[arg-type]

    def count(self, table: str) -> int:
        row = self.one(f"SELECT COUNT(*) FROM {table}")
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Nothing is held per thread (connections go back to the pool after each use)."""

    def shutdown(self) -> None:
        self.pool.close()
