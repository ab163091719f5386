"""The SQLite backend: the four stores over one WAL-mode file (the embedded default)."""

from __future__ import annotations

from pathlib import Path

from matchgraph.engine.store.contracts import Stores
from matchgraph.engine.store.sqlite.admin import SQLiteAdmin
from matchgraph.engine.store.sqlite.catalog import SQLiteCatalog
from matchgraph.engine.store.sqlite.database import SQLiteDatabase
from matchgraph.engine.store.sqlite.evidence import SQLiteEvidence
from matchgraph.engine.store.sqlite.matchlog import SQLiteMatchLog


def open_sqlite(path: Path) -> Stores:
    database = SQLiteDatabase(path)
    return Stores(catalog=SQLiteCatalog(database), matchlog=SQLiteMatchLog(database),
                  evidence=SQLiteEvidence(database), admin=SQLiteAdmin(database), database=database)


__all__ = ["open_sqlite"]
