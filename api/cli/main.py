"""The `matchgraph` command: thin commands over the engine façade.

Each command calls one façade method and turns named errors (and bad paths or values) into one
line on stderr and a non-zero exit code. Logging is configured here, not in the library. The
commands live by concern in the modules beside this one; heavy modules are imported inside
them, so `matchgraph --help` answers at once.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from matchgraph.api.cli import agents, catalog, jobs, learning, searching
from matchgraph.api.cli.db import db_app
from matchgraph.api.cli.keys import keys_app

app = typer.Typer(help="matchgraph: search-and-match recommendations for AI artifacts.",
                  no_args_is_help=True, pretty_exceptions_enable=False)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


for command in (catalog.ingest, catalog.export, jobs.index, searching.search, jobs.serve, jobs.reindex,
                searching.rank, searching.compare, searching.resolve, jobs.backup, jobs.restore, agents.mcp,
                catalog.validate, jobs.doctor, learning.learn):
    app.command()(command)
app.command("import")(catalog.import_command)
app.command("eval")(jobs.evaluate)
app.command("apibench-to-beir")(jobs.apibench_to_beir)
app.add_typer(searching.graph_app, name="graph")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")

if __name__ == "__main__":  # pragma: no cover
    app()
