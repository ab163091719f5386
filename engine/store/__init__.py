"""Stores by concern (catalog, match log, evidence, admin), one backend chosen by name."""

from __future__ import annotations

from pathlib import Path

from matchgraph.engine.errors import UnknownBackend
from matchgraph.engine.store.contracts import Stores

BACKENDS = ("sqlite", "postgresql")


def open_stores(backend: str, db_path: Path, url: str = "", pool_size: int = 8) -> Stores:
    """The four stores of ``backend``: SQLite in the file ``db_path``, or PostgreSQL at ``url``
    (psycopg is imported only then, so the embedded default never needs it)."""
    if backend == "sqlite":
        from matchgraph.engine.store.sqlite import open_sqlite

        return open_sqlite(db_path)
    if backend == "postgresql":
        if not url:
            raise UnknownBackend("the postgresql store needs MATCHGRAPH_DATABASE_URL=postgresql://...")
        try:
            from matchgraph.engine.store.postgres import open_postgres
        except ImportError as exc:
            raise UnknownBackend(f"the postgresql store needs psycopg: pip install 'matchgraph[postgres]' "
                                 f"({exc})") from None

        return open_postgres(url, pool_size)
    raise UnknownBackend(f"unknown store backend {backend!r}; valid: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Stores", "open_stores"]
