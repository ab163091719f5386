"""Database operations: apply schema migrations now (``matchgraph db upgrade``) and move an
existing SQLite deployment onto PostgreSQL (``matchgraph db copy --from sqlite --to URL``).

The copy reads the SQLite file inside one read transaction (a consistent snapshot, even while
a server keeps writing to it) and writes every table into an empty PostgreSQL database in one
transaction, row ids included, so search ids, feedback and score history keep pointing at the
same rows. It is all or nothing: a failure leaves the target as empty as it was.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matchgraph.engine.errors import MatchgraphError
from matchgraph.engine.settings import Settings


@dataclass(frozen=True)
class UpgradeReport:
    backend: str
    applied: list[int]
    version: int


@dataclass(frozen=True)
class CopyReport:
    source: Path
    target: str
    rows: dict[str, int]


def _scalar(conn: Any, sql: str) -> Any:
    row = conn.execute(sql).fetchone()
    return row[0] if row else None


def upgrade_database(settings: Settings) -> UpgradeReport:
    """Bring the configured database's schema up to this version of matchgraph."""
    if settings.store_backend != "postgresql" or not settings.database_url:
        from matchgraph.engine.store.sqlite.database import SQLiteDatabase

        SQLiteDatabase(settings.db_path).close()  # the SQLite schema is applied whenever it opens
        return UpgradeReport("sqlite", [], 0)
    from matchgraph.engine.store.postgres.database import PostgresDatabase
    from matchgraph.engine.store.postgres.schema import MIGRATIONS

    database = PostgresDatabase(settings.database_url, pool_size=1, migrate=False)
    try:
        applied = database.upgrade()
    finally:
        database.shutdown()
    return UpgradeReport("postgresql", applied, MIGRATIONS[-1][0])


def copy_sqlite_to_postgres(source: Path, url: str) -> CopyReport:
    """Copy every table of the SQLite file ``source`` into the empty PostgreSQL database at
    ``url`` (migrated first), in one transaction, keeping row ids."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise MatchgraphError(f"--to must be a postgresql:// URL, not {url!r}")
    if not source.is_file():
        raise MatchgraphError(f"there is no SQLite database at {source}")
    from matchgraph.engine.store.postgres.database import PostgresDatabase, redact
    from matchgraph.engine.store.postgres.schema import IDENTITY_TABLES, TABLES

    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        src.execute("BEGIN")  # one snapshot for every table
        present = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise MatchgraphError(f"{source} is not a readable SQLite database: {exc}") from None
    if "artifacts" not in present:
        src.close()
        raise MatchgraphError(f"{source} is not a matchgraph database (it has no artifacts table)")
    target = PostgresDatabase(url, pool_size=1)
    rows: dict[str, int] = {}
    try:
        with target.transaction() as conn:
            held = [t for t in TABLES if _scalar(conn, f"SELECT EXISTS (SELECT 1 FROM {t})")]
            if held:
                raise MatchgraphError(f"{redact(url)} is not empty (it has rows in {', '.join(held)}); "
                                      "copy only into a new database")
            for table in TABLES:
                if table not in present:
                    rows[table] = 0
                    continue
                wanted = [c[1] for c in src.execute(f"PRAGMA table_info({table})")]
                theirs = {r[0] for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,))}
                columns = [c for c in wanted if c in theirs]
                listed = ", ".join(columns)
                n = 0
                with conn.cursor().copy(f"COPY {table} ({listed}) FROM STDIN") as copy:
                    for row in src.execute(f"SELECT {listed} FROM {table}"):
                        copy.write_row(row)
                        n += 1
                rows[table] = n
            for table in IDENTITY_TABLES:
                conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                             f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")
            for table, n in rows.items():
                copied = _scalar(conn, f"SELECT COUNT(*) FROM {table}")
                if copied != n:
                    raise MatchgraphError(f"{table}: {n} rows read but {copied} written; nothing was copied")
    finally:
        src.close()
        target.shutdown()
    return CopyReport(source, redact(url), rows)
