"""Catalog stores, chosen by name (`MATCHGRAPH_STORE_BACKEND`)."""

from __future__ import annotations

from matchgraph.engine.errors import UnknownBackend
from matchgraph.engine.settings import Settings
from matchgraph.engine.store.base import Store
from matchgraph.engine.store.sqlite import SQLiteStore

BACKENDS = ("sqlite",)


def open_store(settings: Settings, backend: str | None = None) -> Store:
    name = backend or settings.store_backend
    if name == "sqlite":
        return SQLiteStore(settings.db_path)
    raise UnknownBackend(f"unknown store backend {name!r}; valid: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Store", "open_store"]
