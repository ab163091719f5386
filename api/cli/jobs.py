"""Jobs and operations: build the index, re-index (once, watching, or on a schedule inside the
server), serve, back up and restore, evaluate."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from matchgraph.api.cli.common import engine, err, fail, out, parse_duration, reported

if TYPE_CHECKING:
    from matchgraph.engine.facade import Matchgraph
    from matchgraph.engine.jobs.index_job import IndexReport


def _bar(label: str) -> Progress:
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err)


def _print_run(report: IndexReport) -> None:
    if report.stale_lock is not None:
        err.print(f"cleared a stale lock left by a job that died: {report.stale_lock}", markup=False)
    r = report.run
    out.print(f"run {r.id}: {r.outcome}, version {r.version}; {r.capabilities} capabilities, "
              f"{r.embedded} embedded, {r.reused} reused, {r.deleted} deleted; "
              f"{len(report.removed_versions)} old versions removed", markup=False)


def index() -> None:
    """Embed the catalog and publish a new index version (waits for a running index job)."""
    with engine(record=False) as mg, _bar("embedding") as bar, reported():
        task = bar.add_task("embed", total=None)
        report = mg.index(lambda done, total: bar.update(task, completed=done, total=total),
                          on_wait=lambda message: err.print(message + " …", markup=False))
    _print_run(report)


def reindex(
    status: Annotated[bool, typer.Option("--status", help="Show the history of runs.")] = False,
    watch: Annotated[list[Path] | None, typer.Option(
        "--watch", help="Re-ingest these manifest files/folders and reindex whenever they change.")] = None,
    interval: Annotated[str, typer.Option(help="How often --watch looks for changes.")] = "2s",
    force: Annotated[bool, typer.Option(help="Build a new version even if nothing changed.")] = False,
) -> None:
    """Incremental, crash-safe re-indexing: embed what changed, switch atomically, re-rank."""
    every = parse_duration(interval)
    with engine(record=False) as mg:
        if status:
            with reported():
                out.print(f"current: {mg.describe_index()}", markup=False)
                runs = mg.index_runs()
            for r in runs:
                counts = (f"{r.capabilities} capabilities, {r.embedded} embedded, {r.reused} reused, "
                          f"{r.deleted} deleted" if r.capabilities is not None else "")
                out.print(f"run {r.id} {r.outcome:<9} {r.started_at} → {r.finished_at or '…'} "
                          f"{r.version or ''} {counts} {r.note or ''}".rstrip(), markup=False, soft_wrap=True)
            return
        if watch:
            _watch(mg, watch, every)
            return
        with reported():
            report = mg.reindex(force=force)
        _print_run(report)


def _watch(mg: Matchgraph, paths: list[Path], every: float) -> None:
    import threading

    from matchgraph.engine.jobs.watch import watch

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise fail(f"no such file or folder to watch: {', '.join(missing)}")

    def on_change() -> None:
        report = mg.ingest(paths, skip_invalid=True)
        out.print(f"ingest: {report.summary()}", markup=False)
        for problem in report.rejected:
            err.print(f"rejected: {problem}", markup=False)
        _print_run(mg.reindex())

    out.print(f"watching {', '.join(map(str, paths))} every {every:g}s (Ctrl-C stops)", markup=False)
    try:
        watch(paths, on_change, every, threading.Event())
    except KeyboardInterrupt:
        out.print("stopped", markup=False)


def serve(
    host: Annotated[str | None, typer.Option(help="Default: MATCHGRAPH_HOST.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Default: MATCHGRAPH_PORT.")] = None,
    reindex_every: Annotated[str | None, typer.Option(
        help="Also run the re-indexing job in the background this often, e.g. 15m "
             "(MATCHGRAPH_REINDEX_EVERY).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=32, help="Server processes (each loads the "
                                                "model and the index; MATCHGRAPH_WORKERS).")] = None,
    learn_every: Annotated[str | None, typer.Option(
        help="Also learn from the recorded evidence in the background this often, e.g. 24h "
             "(MATCHGRAPH_LEARN_EVERY).")] = None,
) -> None:
    """Serve the API and the pages; the first start ingests the bundled catalog and builds the index."""
    import logging
    import os

    import uvicorn

    from matchgraph.engine.settings import ENV_PREFIX, Settings

    # Options become settings in the environment, which every worker process reads.
    chosen = {"HOST": host, "PORT": port, "WORKERS": workers,
              "REINDEX_EVERY": parse_duration(reindex_every) if reindex_every else None,
              "LEARN_EVERY": parse_duration(learn_every) if learn_every else None}
    for name, value in chosen.items():
        if value is not None:
            os.environ[ENV_PREFIX + name] = str(value)
    with reported():
        settings = Settings()
    s = settings.server
    logging.getLogger().setLevel(logging.INFO)
    # proxy_headers off: uvicorn would otherwise take X-Forwarded-For from loopback peers as the
    # client's address; the access middleware reads it only when MATCHGRAPH_TRUST_FORWARDED_FOR is set
    # Requests in flight are limited by the access middleware (max_concurrency), not by uvicorn,
    # whose limit counts open connections: idle sockets would turn everyone away with 503.
    uvicorn.run("matchgraph.api.app:app_from_environment", factory=True, workers=s.workers, host=s.host,
                port=s.port, timeout_keep_alive=s.keepalive_timeout, proxy_headers=False,
                http="matchgraph.api.http_protocol:HeaderDeadlineProtocol")


def evaluate(
    needs: Annotated[Path | None, typer.Option(
        help="A needs file (JSON Lines) over the served catalog.")] = None,
    fit: Annotated[Path | None, typer.Option(
        help="With --needs: fit the relevance model on the needs and write it here (JSON).")] = None,
    corpus: Annotated[Path | None, typer.Option(help="BEIR corpus.jsonl")] = None,
    queries: Annotated[Path | None, typer.Option(help="BEIR queries.jsonl")] = None,
    qrels: Annotated[Path | None, typer.Option(help="BEIR qrels TSV (query-id, corpus-id, score)")] = None,
    mode: Annotated[str, typer.Option(help="dense | lexical | hybrid | all")] = "all",
    fit_on: Annotated[Path | None, typer.Option(
        help="With --corpus: a training qrels TSV; fit the relevance model and its floor on those "
             "queries over the corpus first, and evaluate with it.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Evaluate search: on a needs file over the served catalog (--needs), or on a BEIR-format
    set in a throwaway state (--corpus --queries --qrels). Nothing is recorded."""
    if needs is not None:
        _evaluate_needs(needs, fit, as_json)
        return
    if corpus is None or queries is None or qrels is None:
        raise fail("give --needs FILE, or all of --corpus, --queries and --qrels", 2)
    from matchgraph.engine.evaluation.beir import MODES, evaluate_beir
    from matchgraph.engine.settings import Settings

    modes = list(MODES) if mode == "all" else [mode]
    if any(m not in MODES for m in modes):
        raise fail(f"unknown mode {mode!r}; valid: {', '.join(MODES)}, all", 2)
    with _bar("embedding corpus") as bar, reported(2):
        task = bar.add_task("embed", total=None)
        report = evaluate_beir(corpus, queries, qrels, modes, Settings(),
                               lambda done, total: bar.update(task, completed=done, total=total),
                               fit_qrels=fit_on)
    if as_json:
        out.print(json.dumps(report, indent=2), markup=False)
        return
    table = Table(title=f"{report['queries']} queries, {report['documents']} documents")
    for column in ("mode", "nDCG@10", "Recall@10", "Recall@100", "MRR@10"):
        table.add_column(column)
    for name, m in report["modes"].items():
        table.add_row(name, *(f"{m[k]:.4f}" for k in ("ndcg@10", "recall@10", "recall@100", "mrr@10")))
    out.print(table)


def _evaluate_needs(path: Path, fit_to: Path | None, as_json: bool) -> None:
    from matchgraph.engine.evaluation import needs as evaluation
    from matchgraph.engine.recommend.resolve import first_answer_confidence

    with engine(record=False) as mg, reported(2):
        found = evaluation.read_needs(path, mg.settings.search.query_max_chars)
        for problem in found.skipped:
            err.print(f"skipped {path}: {problem}", markup=False)
        if not found.needs:
            raise fail(f"{path}: no needs to evaluate", 2)
        mg.ensure_ready()
        report = evaluation.score_needs(found.needs, evaluation.run_needs(mg, found.needs),
                                       lambda r: first_answer_confidence(r, mg.searcher.model))
        report.update(skipped=len(found.skipped), truncated=found.truncated)
        if fit_to is not None:
            report["fit"] = evaluation.fit_and_write(mg, found.needs, fit_to)
    if as_json:
        out.print(json.dumps(report, indent=2), markup=False)
        return
    out.print(f"{report['needs']} needs ({report['servable']} servable, {report['unservable']} not), "
              f"{report['skipped']} lines skipped, {report['truncated']} truncated", markup=False)
    for key in ("success@1", "success@5", "mrr@5", "unservable_answered_with_nothing",
                "servable_answered_with_nothing"):
        out.print(f"  {key:<34} {report[key]:.3f}", markup=False)
    cal = report["calibration"]
    out.print(f"  resolve confidence: ECE {cal['ece']:.3f}, ROC AUC {cal['auc']}", markup=False)
    for row in cal["table"]:
        out.print(f"    {row['bin']}: {row['answers']:>4} answers, confidence {row['confidence']:.2f}, "
                  f"right {row['right']:.2f}", markup=False)
    if "fit" in report:
        fitted = report["fit"]
        out.print(f"  relevance model written to {fit_to}: floor {fitted['floor']}; cross-validated "
                  f"{fitted['cross_validated']}", markup=False)


def apibench_to_beir(
    api: Annotated[Path, typer.Option(help="APIBench catalog, e.g. tensorflowhub_api.jsonl")],
    eval_file: Annotated[Path, typer.Option("--eval", help="APIBench eval/train JSON lines")],
    output: Annotated[Path, typer.Option("--out", help="Folder for corpus/queries/qrels")],
) -> None:
    """Convert an APIBench catalog and its instructions into a BEIR set for `eval`."""
    from matchgraph.engine.evaluation.beir import apibench_to_beir as convert

    with reported():
        counts = convert(api, eval_file, output)
    out.print(f"{counts['documents']} documents, {counts['queries']} queries "
              f"({counts['skipped']} skipped: no instruction or unknown api_call) in {output}", markup=False)


def backup(dest: Annotated[Path, typer.Argument(help="A new, empty folder.")]) -> None:
    """Back up the database (online, consistent) and the current index version."""
    from matchgraph.engine.jobs.backup import backup as run_backup
    from matchgraph.engine.settings import Settings

    with reported():
        info = run_backup(Settings(), dest)
    out.print(f"backed up {info.artifacts} artifacts, {info.searches} searches and index version "
              f"{info.index_version} to {info.path}", markup=False)


def restore(src: Annotated[Path, typer.Argument(help="A folder written by `matchgraph backup`.")]) -> None:
    """Restore a backup; a running server switches to it without a restart."""
    from matchgraph.engine.jobs.backup import restore as run_restore
    from matchgraph.engine.settings import Settings

    with reported():
        info = run_restore(Settings(), src)
    out.print(f"restored the backup of {info.created_at}: {info.artifacts} artifacts, "
              f"{info.searches} searches, index version {info.index_version}", markup=False)


def doctor(
    remeasure: Annotated[bool, typer.Option(help="Time the embedding backends again on this CPU.")] = False,
) -> None:
    """Say what this machine runs: the CPU, the embedding backend and how `auto` chose it."""
    from matchgraph.engine.settings import Settings
    from matchgraph.index.embedding.cpu import cpu_features, cpu_model

    with reported():
        ix = Settings().index
        out.print(f"CPU: {cpu_model()} ({os.cpu_count()} cores); "
                  f"kernels: {', '.join(cpu_features()) or 'none of note'}", markup=False)
        out.print(f"MATCHGRAPH_EMBED_BACKEND={ix.embed_backend}", markup=False)
        if ix.embed_backend != "auto" and not remeasure:
            out.print("set by hand: nothing measured (`matchgraph doctor --remeasure` times them all)",
                      markup=False)
            return
        choice = ix.backend_choice(remeasure=remeasure)
    table = Table("backend", "ms a query", "long texts/s", "cosine to torch", "SciFact", "used",
                  title=f"measured {choice.measured_at} in {choice.seconds} s")
    for t in choice.timings:
        table.add_row(t.backend, _figure(t.query_ms, 2), _figure(t.long_per_s, 1), _figure(t.mean_cosine, 4),
                      _figure(t.scifact, 4), "yes" if t.backend == choice.backend else "")
    out.print(table)
    for t in choice.timings:
        if t.reason:
            out.print(f"  {t.backend}: {t.reason}", markup=False)
    out.print(choice.summary(), markup=False)


def _figure(value: float | None, places: int) -> str:
    return "-" if value is None else f"{value:.{places}f}"
