"""The PostgreSQL backend: the four stores over one connection pool, shared by any number of
replicas (chosen with ``MATCHGRAPH_DATABASE_URL=postgresql://…``)."""

from __future__ import annotations

from matchgraph.engine.store.contracts import Stores
from matchgraph.engine.store.postgres.admin import PostgresAdmin
from matchgraph.engine.store.postgres.catalog import PostgresCatalog
from matchgraph.engine.store.postgres.database import DatabaseUnavailable, PostgresDatabase
from matchgraph.engine.store.postgres.evidence import PostgresEvidence
from matchgraph.engine.store.postgres.matchlog import PostgresMatchLog


def open_postgres(url: str, pool_size: int = 8) -> Stores:
    database = PostgresDatabase(url, pool_size=pool_size)
    admin = PostgresAdmin(database)
    return Stores(catalog=PostgresCatalog(database), matchlog=PostgresMatchLog(database),
                  evidence=PostgresEvidence(database), admin=admin, database=database, rates=admin)


__all__ = ["DatabaseUnavailable", "PostgresDatabase", "open_postgres"]
