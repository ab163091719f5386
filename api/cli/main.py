"""The `matchgraph` command: thin commands over the engine façade.

Each command calls one engine function and turns named errors into a message and a
non-zero exit code. Logging is configured here, not in the library.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from matchgraph.engine.catalog.models import ArtifactType, PricingModel
from matchgraph.engine.errors import InvalidManifest, MatchgraphError
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.search.filters import SearchFilters
from matchgraph.engine.search.searcher import SearchRequest
from matchgraph.engine.settings import Settings

app = typer.Typer(help="matchgraph: search-and-match recommendations for AI artifacts.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
out = Console()
err = Console(stderr=True)


def _engine(record: bool | None = None) -> Matchgraph:
    return Matchgraph(Settings(), record=record)


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
    return typer.Exit(code=1 if not isinstance(exc, InvalidManifest) else 2)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Manifest files or folders.")],
    skip_invalid: Annotated[bool, typer.Option(help="Write the valid records, report the rest.")] = False,
) -> None:
    """Validate manifests and write them to the catalog in one transaction."""
    with _engine(record=False) as mg:
        try:
            report = mg.ingest(paths, skip_invalid=skip_invalid)
        except (MatchgraphError, FileNotFoundError) as exc:
            raise _fail(exc) from exc
    for problem in report.rejected:
        err.print(f"rejected: {problem}", markup=False, highlight=False)
    out.print(report.summary(), markup=False)


@app.command()
def export(
    output: Annotated[Path | None, typer.Option("--out", "-o", help="JSONL file (default stdout).")] = None,
) -> None:
    """Write the whole catalog as JSONL manifests (ingest reads them back unchanged)."""
    from matchgraph.engine.catalog.ingest import export_jsonl

    with _engine(record=False) as mg:
        if output is None:
            export_jsonl(mg.store, sys.stdout)
            return
        with output.open("w", encoding="utf-8") as fh:
            n = export_jsonl(mg.store, fh)
    err.print(f"exported {n} artifacts to {output}", markup=False)


@app.command()
def index() -> None:
    """Embed the catalog and publish a new index version."""
    columns = (TextColumn("embedding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with _engine(record=False) as mg, Progress(*columns, console=err) as bar:
        task = bar.add_task("embed", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            manifest = mg.build_index(progress)
        except MatchgraphError as exc:
            raise _fail(exc) from exc
    out.print(
        f"index version {manifest.version}: {manifest.count} capabilities "
        f"({manifest.embedded} embedded, {manifest.reused} reused), {manifest.dense_kind}",
        markup=False,
    )


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What you need, in plain words.")],
    limit: Annotated[int, typer.Option(min=1, max=50)] = 10,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    type: Annotated[list[ArtifactType] | None, typer.Option("--type")] = None,
    pricing: Annotated[list[PricingModel] | None, typer.Option("--pricing")] = None,
    free: Annotated[bool | None, typer.Option("--free/--not-free", show_default=False)] = None,
    category: Annotated[str | None, typer.Option()] = None,
    tag: Annotated[str | None, typer.Option()] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
    record: Annotated[bool, typer.Option("--record/--no-record", help="Count this search.")] = True,
) -> None:
    """Search the catalog from the terminal (the same results as GET /v1/search)."""
    from matchgraph.api.schemas.search import SearchPage

    filters = SearchFilters(tuple(type or ()), tuple(pricing or ()), free, category, tag)
    with _engine(record=record) as mg:
        try:
            result = mg.search(SearchRequest(query, filters, limit, offset, source="cli",
                                             client_id="cli", record=record))
        except MatchgraphError as exc:
            raise _fail(exc) from exc
        page = SearchPage.of(result)
    if as_json:
        out.print_json(page.model_dump_json())
        return
    table = Table(title=f"{page.total} artifacts for “{page.query}”", title_justify="left")
    for column in ("#", "artifact", "type", "score", "matched capabilities"):
        table.add_column(column)
    for hit in page.items:
        caps = "\n".join(
            f"{m.name} [{', '.join(m.matched_terms) or 'semantic'}]" for m in hit.matches[:3]
        )
        table.add_row(str(hit.rank), f"{hit.artifact.name}\n{hit.artifact.slug}",
                      hit.artifact.type.value, f"{hit.score:.4f}", caps)
    out.print(table, markup=False)


def parse_duration(text: str) -> float:
    """'90s', '15m', '2h' or plain seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    try:
        value = float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except (ValueError, IndexError):
        raise typer.BadParameter(f"{text!r} is not a duration like 90s, 15m or 2h") from None
    if value <= 0:
        raise typer.BadParameter("the interval must be positive")
    return value


@app.command()
def reindex(
    status: Annotated[bool, typer.Option("--status", help="Show the history of runs.")] = False,
    watch: Annotated[list[Path] | None, typer.Option(
        "--watch", help="Re-ingest these manifest files/folders and reindex whenever they change.")] = None,
    interval: Annotated[str, typer.Option(help="How often --watch looks for changes.")] = "2s",
    force: Annotated[bool, typer.Option(help="Build a new version even if nothing changed.")] = False,
) -> None:
    """Incremental, crash-safe re-indexing: embed what changed, switch atomically, re-rank."""
    from matchgraph.engine.jobs.index_job import describe_version

    with _engine(record=False) as mg:
        if status:
            out.print(f"current: {describe_version(mg)}", markup=False)
            for r in mg.store.reindex_runs():
                counts = (f"{r.capabilities} capabilities, {r.embedded} embedded, {r.reused} reused, "
                          f"{r.deleted} deleted" if r.capabilities is not None else "")
                out.print(f"run {r.id} {r.outcome:<9} {r.started_at} → {r.finished_at or '…'} "
                          f"{r.version or ''} {counts} {r.note or ''}".rstrip(), markup=False,
                          soft_wrap=True)
            return
        if watch:
            _watch(mg, watch, parse_duration(interval))
            return
        _reindex_once(mg, force)


def _reindex_once(mg: Matchgraph, force: bool = False) -> None:
    try:
        report = mg.reindex(force=force)
    except MatchgraphError as exc:
        raise _fail(exc) from exc
    if report.stale_lock is not None:
        err.print(f"cleared a stale lock left by a job that died: {report.stale_lock}", markup=False)
    r = report.run
    out.print(f"run {r.id}: {r.outcome}, version {r.version}; {r.capabilities} capabilities, "
              f"{r.embedded} embedded, {r.reused} reused, {r.deleted} deleted; "
              f"{len(report.removed_versions)} old versions removed", markup=False)


def _watch(mg: Matchgraph, paths: list[Path], every: float) -> None:
    import threading

    from matchgraph.engine.jobs.watch import watch

    def on_change() -> None:
        report = mg.ingest(paths, skip_invalid=True)
        out.print(f"ingest: {report.summary()}", markup=False)
        for problem in report.rejected:
            err.print(f"rejected: {problem}", markup=False)
        _reindex_once(mg)

    out.print(f"watching {', '.join(map(str, paths))} every {every:g}s (Ctrl-C stops)", markup=False)
    try:
        watch(paths, on_change, every, threading.Event())
    except KeyboardInterrupt:
        out.print("stopped", markup=False)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: MATCHGRAPH_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: MATCHGRAPH_PORT.")] = None,
    reindex_every: Annotated[str | None, typer.Option(
        help="Also run the re-indexing job in the background this often, e.g. 15m.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=32, help="Server processes (each loads the "
                                         "model and the index; they share the data directory).")] = 1,
) -> None:
    """Serve the API; the first start ingests the bundled catalog and builds the index."""
    import os

    import uvicorn

    settings = Settings()
    every = parse_duration(reindex_every) if reindex_every else None
    logging.getLogger().setLevel(logging.INFO)
    if every:
        os.environ["MATCHGRAPH_SERVE_REINDEX_EVERY"] = str(every)
    uvicorn.run("matchgraph.api.app:app_from_environment", factory=True, workers=workers,
                host=host or settings.host, port=port or settings.port,
                timeout_keep_alive=settings.keepalive_timeout, limit_concurrency=settings.max_concurrency)


@app.command("eval")
def evaluate(
    corpus: Annotated[Path, typer.Option(help="BEIR corpus.jsonl")],
    queries: Annotated[Path, typer.Option(help="BEIR queries.jsonl")],
    qrels: Annotated[Path, typer.Option(help="BEIR qrels TSV (query-id, corpus-id, score)")],
    mode: Annotated[str, typer.Option(help="dense | lexical | hybrid | all")] = "all",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Evaluate retrieval on a BEIR-format set in a throwaway state (nothing is recorded)."""
    from matchgraph.engine.evaluation.beir import MODES, evaluate_beir

    modes = list(MODES) if mode == "all" else [mode]
    if any(m not in MODES for m in modes):
        raise _fail(ValueError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}, all"))
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err) as bar:
        task = bar.add_task("embedding corpus", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = evaluate_beir(corpus, queries, qrels, modes, Settings(), progress)
    if as_json:
        out.print(json.dumps(report, indent=2), markup=False)
        return
    table = Table(title=f"{report['queries']} queries, {report['documents']} documents")
    for column in ("mode", "nDCG@10", "Recall@10", "Recall@100", "MRR@10"):
        table.add_column(column)
    for name, m in report["modes"].items():
        table.add_row(name, *(f"{m[k]:.4f}" for k in ("ndcg@10", "recall@10", "recall@100", "mrr@10")))
    out.print(table)


@app.command()
def rank(
    explain: Annotated[str | None, typer.Option(help="Say why this artifact's score moved.")] = None,
    as_of: Annotated[str | None, typer.Option(help="Score as of this date (YYYY-MM-DD).")] = None,
) -> None:
    """Recompute the match graph and every score (one score-history row per artifact)."""
    from matchgraph.api.schemas.recommend import PartOut

    with _engine(record=False) as mg:
        try:
            if explain is None:
                day = date.fromisoformat(as_of) if as_of else None
                summary = mg.rank(day)
                out.print(f"rank run {summary.run_id} as of {summary.as_of}: {summary.artifacts} "
                          f"artifacts scored, {summary.edges} graph edges from {summary.units} "
                          "search units", markup=False)
                return
            lines, history = mg.explain(explain)
            record = mg.get_artifact(explain)
            score = mg.score(record.row_id)
        except (MatchgraphError, ValueError) as exc:
            raise _fail(exc) from exc
    if score is None:
        raise _fail(MatchgraphError(f"{explain} has not been ranked yet; run `matchgraph rank`"))
    out.print(f"{record.artifact.name}: {score.score:.0f}/100", markup=False)
    for name, body in score.parts.items():
        part = PartOut.model_validate(body)
        out.print(f"  {name:<12} {part.value:.2f}  n={part.n}  {part.note}", markup=False)
    out.print("history: " + ", ".join(f"{d} {s:.0f}" for d, s in history), markup=False)
    out.print("\n".join(lines) if lines else "no change since the previous run", markup=False)


@app.command()
def compare(
    a: Annotated[str, typer.Argument(help="Slug of the first artifact.")],
    b: Annotated[str, typer.Argument(help="Slug of the second artifact.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
) -> None:
    """“A vs B”: the table, aligned capabilities, verdict and alternatives."""
    from matchgraph.api.schemas.recommend import AlternativeOut, ComparisonOut

    with _engine(record=False) as mg:
        try:
            comparison = mg.compare(a, b)
            alternatives = [AlternativeOut.of(s, r) for s, r in mg.alternatives([a, b])]
            page = ComparisonOut.of(comparison, alternatives, mg.suggested_searches([a, b]))
        except MatchgraphError as exc:
            raise _fail(exc) from exc
    if as_json:
        out.print_json(page.model_dump_json())
        return
    out.print(page.title, style="bold", markup=False)
    out.print(page.summary, markup=False)
    grid = Table("Feature", page.a.artifact.name, page.b.artifact.name)
    for row in page.table:
        grid.add_row(row.label, row.a, row.b)
    out.print(grid)
    aligned = Table("capability of " + page.a.artifact.name, "capability of " + page.b.artifact.name,
                    "cosine", title="Aligned capabilities")
    for pair in page.aligned:
        aligned.add_row(pair.a, pair.b, f"{pair.similarity:.2f}")
    out.print(aligned)
    out.print(f"Only {page.a.artifact.name}: {', '.join(page.only_a) or '—'}", markup=False)
    out.print(f"Only {page.b.artifact.name}: {', '.join(page.only_b) or '—'}", markup=False)
    out.print("Verdict", style="bold")
    out.print(page.verdict, markup=False)
    out.print("Need something different?", style="bold")
    for alt in page.alternatives:
        out.print(f"  {alt.artifact.name} ({alt.artifact.slug}): {alt.reason}", markup=False)
    if page.suggested_searches:
        out.print("  searches: " + "; ".join(s.query for s in page.suggested_searches), markup=False)


graph_app = typer.Typer(help="The match graph.", no_args_is_help=True)
app.add_typer(graph_app, name="graph")


@graph_app.command("export")
def graph_export(
    output: Annotated[Path, typer.Option("--out", "-o", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="graphml (Gephi) or json (node-link)")] = "graphml",
) -> None:
    """Write the co-match graph for Gephi or networkx."""
    with _engine(record=False) as mg:
        try:
            n = mg.export_graph(output, fmt)
        except (MatchgraphError, ValueError) as exc:
            raise _fail(exc) from exc
    out.print(f"wrote {n} edges to {output}", markup=False)


@app.command()
def resolve(
    intent: Annotated[str, typer.Argument(help="The need, in plain words.")],
    type: Annotated[ArtifactType | None, typer.Option("--type")] = None,
) -> None:
    """The single best artifact for an intent, with why and a confidence."""
    with _engine() as mg:
        try:
            r = mg.resolve(intent, type, client_id="cli", source="cli")
        except MatchgraphError as exc:
            raise _fail(exc) from exc
    if r.best is None:
        out.print(r.why, markup=False)
        return
    out.print(f"{r.best.artifact.artifact.name} ({r.best.artifact.artifact.slug}), "
              f"confidence {r.confidence:.2f}", markup=False)
    out.print(r.why, markup=False)
    out.print("alternatives: " + ", ".join(h.artifact.artifact.slug for h in r.alternatives),
              markup=False)
    out.print(f"resolve id: {r.resolve_id}", markup=False)


keys_app = typer.Typer(help="API keys with scopes (stored only as hashes).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who or what uses the key.")],
    scope: Annotated[list[str] | None, typer.Option(
        "--scope", help="read, feedback, write or admin (repeatable; default read).")] = None,
) -> None:
    """Create a key and print it once."""
    from matchgraph.engine.access.keys import Scope, create_key

    try:
        scopes = [Scope(s) for s in (scope or ["read"])]
    except ValueError as exc:
        raise _fail(ValueError(f"{exc}; valid scopes: read, feedback, write, admin")) from exc
    with _engine(record=False) as mg:
        try:
            issued = create_key(mg.store, name, scopes)
        except MatchgraphError as exc:
            raise _fail(exc) from exc
    out.print(issued.secret, markup=False)
    err.print(f"key {issued.key_id} for {issued.row.name} with scopes {', '.join(issued.row.scopes)}; "
              "it is not stored and cannot be shown again", markup=False)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    with _engine(record=False) as mg:
        for row in mg.store.list_api_keys():
            state = f"revoked {row.revoked_at}" if row.revoked_at else "active"
            out.print(f"{row.key_id}  {row.name}  {','.join(row.scopes)}  created {row.created_at}  {state}",
                      markup=False)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The 8-character key id.")]) -> None:
    """Revoke a key; requests with it get 401 from then on."""
    with _engine(record=False) as mg:
        try:
            row = mg.store.revoke_api_key(key_id)
        except MatchgraphError as exc:
            raise _fail(exc) from exc
    out.print(f"revoked {row.key_id} ({row.name}) at {row.revoked_at}", markup=False)


@app.command()
def backup(dest: Annotated[Path, typer.Argument(help="A new, empty folder.")]) -> None:
    """Back up the database (online, consistent) and the current index version."""
    from matchgraph.engine.jobs.backup import backup as run_backup

    try:
        info = run_backup(Settings(), dest)
    except MatchgraphError as exc:
        raise _fail(exc) from exc
    out.print(f"backed up {info.artifacts} artifacts, {info.searches} searches and index version "
              f"{info.index_version} to {info.path}", markup=False)


@app.command()
def restore(src: Annotated[Path, typer.Argument(help="A folder written by `matchgraph backup`.")]) -> None:
    """Restore a backup; a running server switches to it without a restart."""
    from matchgraph.engine.jobs.backup import restore as run_restore

    try:
        info = run_restore(Settings(), src)
    except MatchgraphError as exc:
        raise _fail(exc) from exc
    out.print(f"restored the backup of {info.created_at}: {info.artifacts} artifacts, "
              f"{info.searches} searches, index version {info.index_version}", markup=False)


@app.command("apibench-to-beir")
def apibench_to_beir(
    api: Annotated[Path, typer.Option(help="APIBench catalog, e.g. tensorflowhub_api.jsonl")],
    eval_file: Annotated[Path, typer.Option("--eval", help="APIBench eval/train JSON lines")],
    output: Annotated[Path, typer.Option("--out", help="Folder for corpus/queries/qrels")],
) -> None:
    """Convert an APIBench catalog and its instructions into a BEIR set for `eval`."""
    from matchgraph.engine.evaluation.beir import apibench_to_beir as convert

    counts = convert(api, eval_file, output)
    out.print(
        f"{counts['documents']} documents, {counts['queries']} queries "
        f"({counts['skipped']} skipped: no instruction or unknown api_call) in {output}",
        markup=False,
    )


from matchgraph.api.cli.importing import import_command  # noqa: E402

app.command("import")(import_command)

if __name__ == "__main__":  # pragma: no cover
    app()
