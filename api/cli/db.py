"""The database: apply schema migrations, and move a SQLite deployment onto PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from matchgraph.api.cli.common import out, reported

db_app = typer.Typer(help="The database: schema migrations and moving SQLite onto PostgreSQL.",
                     no_args_is_help=True)


@db_app.command("upgrade")
def upgrade() -> None:
    """Apply the schema migrations the configured database lacks (servers also do this on start)."""
    from matchgraph.engine.jobs.migrate import upgrade_database
    from matchgraph.engine.settings import Settings

    with reported():
        report = upgrade_database(Settings())
    if report.backend == "sqlite":
        out.print("sqlite: the schema is applied whenever the file is opened; nothing to do", markup=False)
    elif report.applied:
        out.print(f"postgresql: applied migrations {', '.join(map(str, report.applied))}; "
                  f"the schema is at version {report.version}", markup=False)
    else:
        out.print(f"postgresql: the schema is already at version {report.version}", markup=False)


@db_app.command("copy")
def copy(
    source: Annotated[str, typer.Option(
        "--from", help="`sqlite` (the file in MATCHGRAPH_DATA_DIR) or the path of a matchgraph.db file.")],
    target: Annotated[str, typer.Option("--to", help="postgresql://user:password@host:port/database "
                                        "(an empty database; the schema is created).")],
) -> None:
    """Copy an existing SQLite deployment into an empty PostgreSQL database, all or nothing."""
    from matchgraph.engine.jobs.migrate import copy_sqlite_to_postgres
    from matchgraph.engine.settings import Settings

    with reported():
        path = Settings().db_path if source == "sqlite" else Path(source)
    with reported():
        report = copy_sqlite_to_postgres(path, target)
    main = ", ".join(f"{report.rows[t]} {t}" for t in ("artifacts", "capabilities", "searches", "matches",
                                                         "feedback", "api_keys"))
    out.print(f"copied {sum(report.rows.values())} rows from {report.source} to {report.target}: {main}",
              markup=False)
    out.print("the index is not copied: a server builds it from the catalog on its first start", markup=False)
