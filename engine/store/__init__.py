"""Stores by concern (catalog, match log, evidence, admin), one backend chosen by name."""

from __future__ import annotations

from pathlib import Path

from matchgraph.engine.errors import UnknownBackend
from matchgraph.engine.store.contracts import Stores

BACKENDS = ("sqlite",)


def open_stores(backend: str, db_path: Path) -> Stores:
    """The four stores of ``backend`` (``MATCHGRAPH_STORE_BACKEND``)."""
    if backend == "sqlite":
        from matchgraph.engine.store.sqlite import open_sqlite

        return open_sqlite(db_path)
    raise UnknownBackend(f"unknown store backend {backend!r}; valid: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Stores", "open_stores"]
