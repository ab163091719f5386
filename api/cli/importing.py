"""``matchgraph import SOURCE (--file F | --url U) [--skip-invalid/--strict]``.

Reads one document from a file or a URL, imports it with :func:`run_import` and prints
the counts, then every rejected record with its reason. Exit codes: 0 done (rejects
skipped and reported), 1 the document could not be read, fetched or parsed (or the
source is unknown), 2 ``--strict`` and some record was invalid, so nothing was written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from matchgraph.engine.catalog.fetch import fetch_text
from matchgraph.engine.catalog.importers import SOURCES, get_source, run_import
from matchgraph.engine.errors import InvalidManifest, MatchgraphError
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.settings import Settings

out = Console()
err = Console(stderr=True)


def _exit(message: str, code: int) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(code=code)


def _read(file: Path | None, url: str | None) -> tuple[str, str]:
    """The document's text and where it came from."""
    if (file is None) == (url is None):
        raise typer.BadParameter("give exactly one of --file or --url")
    if url is not None:
        return fetch_text(url), url
    assert file is not None
    try:
        return file.read_text(encoding="utf-8"), str(file)
    except (OSError, UnicodeDecodeError) as exc:
        raise _exit(f"{file}: cannot be read: {exc}", 1) from exc


def import_command(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help=f"One of: {', '.join(SOURCES)}.")],
    file: Annotated[Path | None, typer.Option("--file", help="Read the document from this file.")] = None,
    url: Annotated[str | None, typer.Option("--url", help="Fetch the document from this URL.")] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid/--strict",
                           help="Write the valid records and report the rest (default), "
                           "or write nothing if any record is invalid.")
    ] = True,
) -> None:
    """Import a real catalog (OpenRouter, awesome lists, Hugging Face, GitHub, unfragile.yml)."""
    try:
        get_source(source)
        text, origin = _read(file, url)
    except MatchgraphError as exc:
        raise _exit(str(exc), 1) from exc
    with Matchgraph(Settings(), record=False) as mg:
        try:
            report = run_import(source, text, mg.store, skip_invalid, origin=origin)
        except InvalidManifest as exc:
            for problem in exc.problems:
                err.print(f"rejected: {problem}", markup=False, highlight=False, soft_wrap=True)
            raise _exit(f"{len(exc.problems)} problem(s) with --strict; nothing was written", 2) from exc
        except MatchgraphError as exc:
            raise _exit(str(exc), 1) from exc
    out.print(report.summary(), markup=False, highlight=False, soft_wrap=True)
    for problem in report.rejected:
        out.print(f"rejected: {problem}", markup=False, highlight=False, soft_wrap=True)
