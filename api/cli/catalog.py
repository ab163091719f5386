"""Catalog commands: ingest manifests, export the catalog, import a public catalog document."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from matchgraph.api.cli.common import engine, err, fail, out, reported

# The importers' names, written out so that `--help` need not import them (a test checks).
SOURCE_NAMES = ("openrouter", "awesome-mcp", "awesome-agents", "awesome", "huggingface", "github",
                "unfragile")


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Manifest files or folders.")],
    skip_invalid: Annotated[bool, typer.Option(help="Write the valid records, report the rest.")] = False,
) -> None:
    """Validate manifests and write them to the catalog in one transaction."""
    with engine(record=False) as mg, reported():
        report = mg.ingest(paths, skip_invalid=skip_invalid)
    for problem in report.rejected:
        err.print(f"rejected: {problem}", markup=False, highlight=False)
    out.print(report.summary(), markup=False)


def export(
    output: Annotated[Path | None, typer.Option("--out", "-o", help="JSONL file (default stdout).")] = None,
) -> None:
    """Write the whole catalog as JSONL manifests (ingest reads them back unchanged)."""
    with engine(record=False) as mg, reported():
        if output is None:
            mg.export(sys.stdout)
            return
        with output.open("w", encoding="utf-8") as fh:
            n = mg.export(fh)
    err.print(f"exported {n} artifacts to {output}", markup=False)


def _read(file: Path | None, url: str | None) -> tuple[str, str]:
    """The document's text and where it came from."""
    from matchgraph.engine.catalog.fetch import fetch_text

    if (file is None) == (url is None):
        raise typer.BadParameter("give exactly one of --file or --url")
    if url is not None:
        return fetch_text(url), url
    assert file is not None
    try:
        return file.read_text(encoding="utf-8"), str(file)
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{file}: cannot be read: {exc}") from exc


def import_command(
    source: Annotated[str | None, typer.Argument(
        metavar="[SOURCE]", help=f"One of: {', '.join(SOURCE_NAMES)} (not with --all-shared).")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Read the document from this file.")] = None,
    url: Annotated[str | None, typer.Option("--url", help="Fetch the document from this URL.")] = None,
    all_shared: Annotated[Path | None, typer.Option(
        "--all-shared", metavar="FOLDER",
        help="Build the large catalog: ingest the bundled catalog, then import every document of "
             "FOLDER (e.g. ../shared/data/sources) with the source its file name says, leaving out "
             "entries the bundled catalog already describes.")] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid/--strict",
                           help="Write the valid records and report the rest (default), "
                           "or write nothing if any record is invalid.")
    ] = True,
) -> None:
    """Import a real catalog (OpenRouter, awesome lists, Hugging Face, GitHub, unfragile.yml), or
    with --all-shared every shared document on top of the bundled catalog.

    Exit codes: 0 done (rejects skipped and reported), 1 the document could not be read,
    fetched or parsed (or the source is unknown), 2 ``--strict`` and some record was invalid,
    so nothing was written."""
    from matchgraph.engine.catalog.importers import get_source
    from matchgraph.engine.errors import InvalidManifest

    if all_shared is not None:
        if source is not None or file is not None or url is not None:
            raise typer.BadParameter("--all-shared takes no SOURCE, --file or --url")
        _import_shared(all_shared, skip_invalid)
        return
    if source is None:
        raise typer.BadParameter("give a SOURCE (with --file or --url) or --all-shared FOLDER")
    with reported():
        get_source(source)
        text, origin = _read(file, url)
    with engine(record=False) as mg, reported():
        try:
            report = mg.import_document(source, text, skip_invalid, origin=origin)
        except InvalidManifest as exc:
            for problem in exc.problems:
                err.print(f"rejected: {problem}", markup=False, highlight=False, soft_wrap=True)
            raise fail(f"{len(exc.problems)} problem(s) with --strict; nothing was written", 2) from exc
    out.print(report.summary(), markup=False, highlight=False, soft_wrap=True)
    for problem in report.rejected:
        out.print(f"rejected: {problem}", markup=False, highlight=False, soft_wrap=True)


def _import_shared(folder: Path, skip_invalid: bool) -> None:
    from matchgraph.engine.errors import InvalidManifest

    with engine(record=False) as mg, reported():
        try:
            bundled, shared = mg.import_shared(folder, skip_invalid)
        except InvalidManifest as exc:
            for problem in exc.problems:
                err.print(f"rejected: {problem}", markup=False, highlight=False, soft_wrap=True)
            raise fail(f"{len(exc.problems)} problem(s) with --strict; nothing was imported", 2) from exc
        counts = mg.health().counts
    out.print(f"bundled catalog: {bundled.summary()}", markup=False, highlight=False, soft_wrap=True)
    for report in shared.reports:
        out.print(f"{report.origin}: {report.summary()}", markup=False, highlight=False, soft_wrap=True)
        for problem in report.rejected:
            out.print(f"rejected: {problem}", markup=False, highlight=False, soft_wrap=True)
    for name in shared.ignored:
        out.print(f"ignored: {name} (no source reads this file name)", markup=False, highlight=False)
    out.print(shared.summary(), markup=False, highlight=False, soft_wrap=True)
    out.print(f"catalog now: {counts.artifacts} artifacts, {counts.capabilities} capabilities; run "
              "`matchgraph index`"
              " to make them searchable", markup=False, highlight=False, soft_wrap=True)


def validate(
    paths: Annotated[list[Path], typer.Argument(help="Manifest files or folders (YAML, JSON, JSON Lines); "
                                                     "files named unfragile.yml are read in that format.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the problems as JSON (for CI).")] = False,
) -> None:
    """Check manifests without ingesting them: every problem with file, line and column, field and
    reason. Exit 0 when all are valid, 1 when any is not (2 when a path does not exist)."""
    from matchgraph.engine.catalog.importers.unfragile import validate_unfragile
    from matchgraph.engine.catalog.manifests import ValidatedBatch, load_manifests

    unfragile = [p for p in paths if p.is_file() and p.name in ("unfragile.yml", "unfragile.yaml")]
    with reported(2):
        batch = load_manifests([p for p in paths if p not in unfragile]) if len(unfragile) < len(paths) \
            else ValidatedBatch([], [], {})
        for file in unfragile:
            more = validate_unfragile(file)
            batch.artifacts += more.artifacts
            batch.problems += more.problems
    problems = [{"file": p.file, "where": p.record, "field": p.field, "reason": p.reason}
                for p in batch.problems]
    if as_json:
        out.print(json.dumps({"valid": len(batch.artifacts), "problems": problems}, indent=2), markup=False)
    else:
        for p in batch.problems:
            out.print(str(p), markup=False)
        out.print(f"{len(batch.artifacts)} valid, {len(problems)} problem{'' if len(problems) == 1 else 's'}",
                  markup=False)
    if problems:
        raise typer.Exit(1)
