"""`matchgraph learn`: learn from the recorded evidence (or a BEIR set), gated; its record; rollback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from matchgraph.api.cli.common import engine, err, fail, out, reported


def learn(
    train_corpus: Annotated[Path | None, typer.Option(help="BEIR corpus.jsonl to learn from")] = None,
    train_queries: Annotated[Path | None, typer.Option(help="BEIR queries.jsonl to learn from")] = None,
    train_qrels: Annotated[Path | None, typer.Option(help="BEIR qrels TSV to learn from")] = None,
    guard: Annotated[Path | None, typer.Option(
        help="A BEIR folder every candidate is also judged on (default: MATCHGRAPH_LEARN_GUARD_DIR)."
    )] = None,
    embedder: Annotated[bool | None, typer.Option(
        "--embedder/--no-embedder",
        help="Fine-tune the model too, or learn the ranker only (default: MATCHGRAPH_LEARN_EMBEDDER)."
    )] = None,
    ranker: Annotated[bool, typer.Option(
        "--ranker/--no-ranker", help="Refit the ranker as a candidate (on by default).")] = True,
    force: Annotated[bool, typer.Option(
        help="Swap in the best candidate even when the gate refuses it (recorded as forced).")] = False,
    status: Annotated[bool, typer.Option("--status", help="Show what is served and every decision.")] = False,
    rollback: Annotated[bool, typer.Option(
        "--rollback", help="Serve the models that were active before the last swap.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Learn from selections and positive feedback of verified clients (or a BEIR set): a ranker and a
    fine-tuned model, each swapped in only when it beats the live one on held-out needs."""
    beir = (train_corpus, train_queries, train_qrels)
    if sum(p is not None for p in beir) not in (0, 3):
        raise fail("give all of --train-corpus, --train-queries and --train-qrels, or none", 2)
    if status + rollback + (beir[0] is not None) > 1:
        raise fail("--status, --rollback and --train-* are separate uses of learn; give one", 2)
    if status:
        _status(as_json)
        return
    if guard is not None and not guard.is_dir():
        raise fail(f"{guard}: not a folder", 2)
    from matchgraph.engine.learning import run as learning

    def say(message: str) -> None:
        err.print(message + " …", markup=False)

    with engine(record=False) as mg, reported(2):
        if rollback:
            decision = learning.rollback(mg, say)
        else:
            training = None
            if train_corpus is not None and train_queries is not None and train_qrels is not None:
                from matchgraph.engine.learning.pairs import from_beir

                training = from_beir(train_corpus, train_queries, train_qrels)
            mg.ensure_ready()
            decision = learning.learn(mg, training, guard=guard, embedder=embedder, ranker=ranker,
                                      force=force, say=say)
    if as_json:
        out.print(json.dumps(decision, indent=2), markup=False)
        return
    _print_decision(decision)


def _print_decision(d: dict[str, Any]) -> None:
    if d.get("rollback"):
        out.print(f"rollback ({d.get('at')}): {d.get('why', '')}", markup=False)
        return
    head = f"candidate {d.get('candidate')}"
    verdict = "swapped in" if d.get("swapped") else "not swapped"
    out.print(f"{head} ({d.get('at')}): {verdict}" + (f" [{d['chosen']}]" if d.get("chosen") else "")
              + f" — {d.get('why', '')}", markup=False)
    if "pairs" in d:
        out.print(f"  {d['pairs']} pairs from {d.get('source')} ({d.get('skipped', 0)} skipped), "
                  f"{d.get('train_pairs', 0)} to train, {d.get('heldout_needs', 0)} needs held out",
                  markup=False)
    rows = [("live", d["live"])] if "live" in d else []
    rows += list(d.get("candidates", {}).items())
    for name, figures in rows:
        held, guard = figures.get("heldout") or {}, figures.get("guard") or {}
        line = (f"  {name:<16} held-out nDCG@10 {held.get('ndcg@10', 0):.4f} "
                f"MRR@10 {held.get('mrr@10', 0):.4f}")
        if guard:
            line += f"; guard nDCG@10 {guard['ndcg@10']:.4f}"
        if "passed" in figures:
            line += "; passed" if figures["passed"] else f"; refused: {figures['why']}"
        out.print(line, markup=False)
    if d.get("seconds"):
        out.print("  seconds: " + ", ".join(f"{k} {v}" for k, v in d["seconds"].items()), markup=False)


def _status(as_json: bool) -> None:
    from matchgraph.engine.learned import read_state
    from matchgraph.engine.settings import Settings

    with reported(2):
        state = read_state(Settings().data_dir)
    if as_json:
        out.print(json.dumps(state.to_json(), indent=2), markup=False)
        return
    active = state.active
    if active.empty:
        out.print("serving the configured model and relevance model (nothing learned swapped in)",
                  markup=False)
    else:
        out.print(f"serving candidate {active.candidate}: model {active.model_dir or 'as configured'}, "
                  f"ranker {active.ranker or 'as configured'}", markup=False)
    out.print(f"{len(state.previous)} earlier state(s) to roll back to; {len(state.decisions)} decision(s):",
              markup=False)
    for decision in state.decisions:
        _print_decision(decision)
