"""One learning run: pairs → candidates → the gate → a swap or not, recorded; and rollback.

1. The pairs (``engine.learning.pairs``) are split by query into a training and a held-out part.
2. The catalog the pairs are about is indexed with the live model in a throwaway state; the
   training needs run through it, which gives the ranker its rows and BEIR pairs their hard
   negatives (what the live models rank above the right answer).
3. Candidates: ``ranker`` (the relevance model refitted, live embedding model) and, unless turned
   off, ``embedder`` (the model fine-tuned on the pairs, live ranker) and ``embedder+ranker`` (the
   fine-tuned model with a ranker refitted on its features).
4. Each candidate and the live models are judged on the held-out needs and on the guard set;
   ``engine.learning.gate`` decides. Of those that pass, the one with the best held-out nDCG@10
   is swapped in: a new model first gets its index (built under the index job's lock, the served
   version untouched meanwhile), then the state names it and the façade serves it.
5. Every run is recorded with its figures, whether it swapped and why (``status``).

One run at a time per data directory: a learning lock like the index job's.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matchgraph.engine.evaluation.beir import doc_artifact, doc_slug, read_jsonl, read_qrels
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.learned import Active, LearningState, learning_dir, read_state, write_state
from matchgraph.engine.learning.gate import Verdict, decide
from matchgraph.engine.learning.judge import Bench, Judgement, Ranked, judge
from matchgraph.engine.learning.pairs import TrainingSet, from_evidence, split, with_negatives
from matchgraph.engine.learning.ranker import fit_ranker, training_rows
from matchgraph.engine.learning.tune import fine_tune
from matchgraph.engine.search.relevance import RelevanceModel
from matchgraph.index.errors import JobRunning
from matchgraph.index.lock import JobLock

logger = logging.getLogger(__name__)
Say = Callable[[str], None]


@dataclass(frozen=True)
class Guard:
    """A BEIR set every candidate is also judged on."""

    name: str
    artifacts: list[Any]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_guard(folder: Path) -> Guard:
    corpus, queries = folder / "corpus.jsonl", folder / "queries.jsonl"
    qrels_path = next((p for p in (folder / "qrels" / "test.tsv", folder / "qrels.tsv") if p.is_file()), None)
    if not corpus.is_file() or not queries.is_file() or qrels_path is None:
        raise FileNotFoundError(f"{folder}: a guard set needs corpus.jsonl, queries.jsonl and "
                                "qrels/test.tsv (or qrels.tsv)")
    judged = read_qrels(qrels_path)
    docs = read_jsonl(corpus)
    text = {str(q["_id"]): str(q.get("text", "")) for q in read_jsonl(queries) if str(q["_id"]) in judged}
    qrels = {q: {doc_slug(d): r for d, r in rels.items()} for q, rels in judged.items() if q in text}
    return Guard(folder.name, [doc_artifact(d) for d in docs], text, qrels)


def _learn_lock(data_dir: Path) -> JobLock:
    return JobLock(learning_dir(data_dir))


def _record(data_dir: Path, decision: dict[str, Any], active: Active | None = None,
            seconds: dict[str, float] | None = None, started: float | None = None) -> LearningState:
    cpu_started = decision.pop("_cpu_started", 0.0)
    if seconds is not None and started is not None:
        decision["seconds"] = {k: round(v, 1) for k, v in
                               {**seconds, "total": time.perf_counter() - started}.items()}
        # CPU time of this process (all its threads) during the run: on a shared machine the wall
        # clock says as much about the neighbours as about the run
        decision["seconds"]["cpu"] = round(time.process_time() - cpu_started, 1)
    state = read_state(data_dir)
    if active is not None:
        state.previous.append(state.active)
        state.active = active
    state.decisions.append(decision)
    write_state(data_dir, state)
    return state


def _ranked_slugs(run: dict[str, Ranked]) -> dict[str, list[str]]:
    return {q: r.slugs for q, r in run.items()}


def learn(
    mg: Matchgraph, training: TrainingSet | None = None, *, guard: Path | None = None,
    embedder: bool | None = None, ranker: bool = True, force: bool = False, say: Say | None = None,
) -> dict[str, Any]:
    """Run the whole loop once on ``mg``'s deployment; returns the recorded decision.
    ``training``: BEIR pairs (default: the deployment's evidence); ``guard``: a BEIR folder (default
    ``learn_guard_dir``); ``embedder`` and ``ranker`` say which candidates to make (the embedder's
    default: ``learn_embedder``); ``force`` swaps in the best candidate whatever the gate says
    (recorded as forced)."""
    if not ranker and embedder is False:
        raise ValueError("nothing to learn: neither the ranker nor the embedder")
    s = mg.settings.learning
    tell = say or (lambda _m: None)
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        lock = _learn_lock(mg.settings.data_dir).__enter__()
    except JobRunning:
        raise JobRunning("another learning run is under way in this data directory") from None
    try:
        return _learn(mg, training, guard or s.learn_guard_dir, s.learn_embedder if embedder is None
                      else embedder, ranker, force, tell, started, cpu_started)
    finally:
        lock.__exit__(None, None, None)


def _learn(mg: Matchgraph, training: TrainingSet | None, guard_dir: Path | None, tune: bool, refit: bool,
           force: bool, tell: Say, started: float, cpu_started: float) -> dict[str, Any]:
    s = mg.settings.learning
    data_dir = mg.settings.data_dir
    cid = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    decision: dict[str, Any] = {"candidate": cid, "at": datetime.now(UTC).isoformat(timespec="seconds"),
                                "swapped": False, "forced": False, "_cpu_started": cpu_started}
    if training is None:
        mg.flush_matches()
        training = from_evidence(mg.stores)
    decision.update(source=training.source, pairs=len(training.pairs), skipped=training.skipped)
    if len(training.pairs) < s.learn_min_pairs:
        decision["why"] = f"{len(training.pairs)} pairs, fewer than learn_min_pairs ({s.learn_min_pairs})"
        _record(data_dir, decision)
        return decision
    train, held = split(training, s.learn_holdout)
    train_qrels, held_qrels = train.qrels(), held.qrels()
    decision.update(train_pairs=len(train.pairs), heldout_needs=len(held_qrels))
    if not train.pairs or not held_qrels:
        decision["why"] = "the split by query left no training or no held-out needs"
        _record(data_dir, decision)
        return decision
    guard = load_guard(guard_dir) if guard_dir is not None else None
    live_model, live_ranker = mg.model_path(), mg.relevance_model_path()
    live = RelevanceModel.load(live_ranker)
    root = learning_dir(data_dir)
    work = root / f"work-{cid}"
    work.mkdir(parents=True)
    seconds: dict[str, float] = {}
    made: list[Path] = []
    try:
        t = time.perf_counter()
        tell(f"indexing {len(training.artifacts)} artifacts with the live model")
        base = Bench(mg.settings, work / "live", live_model).build(training.artifacts)
        train_run = base.rank(train.queries(), live_ranker)
        held_run = {"live": base.rank(held.queries(), live_ranker)}
        seconds["live"] = time.perf_counter() - t

        t = time.perf_counter()
        tell("fitting the ranker")
        rankers: dict[str, Path] = {"live": live_ranker}
        candidates: dict[str, tuple[Path, Path]] = {}  # name -> (model dir, ranker)
        try:
            if not refit:
                raise ValueError("not asked for")
            fitted = fit_ranker(*training_rows(train_run, train_qrels), live)
            rankers["ranker"] = root / "rankers" / f"{cid}.json"
            rankers["ranker"].parent.mkdir(parents=True, exist_ok=True)
            rankers["ranker"].write_text(json.dumps(fitted.to_json(), indent=2), encoding="utf-8")
            made.append(rankers["ranker"])
            held_run["ranker"] = base.rank(held.queries(), rankers["ranker"])
            candidates["ranker"] = (live_model, rankers["ranker"])
        except ValueError as exc:
            decision["ranker"] = f"not fitted: {exc}"
        seconds["ranker"] = time.perf_counter() - t

        tuned_bench = None
        if tune:
            t = time.perf_counter()
            pairs = with_negatives(train, _ranked_slugs(train_run)).pairs
            model_dir = root / "models" / cid
            tell(f"fine-tuning the model on {len(pairs)} pairs")
            info = fine_tune(live_model, pairs, training.texts, model_dir, epochs=s.learn_epochs,
                             batch_size=s.learn_batch_size, rate=s.learn_rate, max_tokens=s.learn_max_tokens,
                             negatives=s.learn_negatives, frozen_layers=s.learn_frozen_layers,
                             progress=lambda d, n: tell(f"fine-tuning step {d}/{n}") if d % 10 == 0 else None)
            made.append(model_dir)
            decision["fine_tune"] = {k: v for k, v in info.items() if k != "base"}
            seconds["fine_tune"] = time.perf_counter() - t
            t = time.perf_counter()
            tell("indexing with the fine-tuned model")
            tuned_bench = Bench(mg.settings, work / "tuned", model_dir).build(training.artifacts)
            held_run["embedder"] = tuned_bench.rank(held.queries(), live_ranker)
            candidates["embedder"] = (model_dir, live_ranker)
            try:
                if not refit:
                    raise ValueError("not asked for")
                tuned_ranker = fit_ranker(*training_rows(tuned_bench.rank(train.queries(), live_ranker),
                                                         train_qrels), live)
                path = root / "rankers" / f"{cid}-tuned.json"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(tuned_ranker.to_json(), indent=2), encoding="utf-8")
                made.append(path)
                held_run["embedder+ranker"] = tuned_bench.rank(held.queries(), path)
                candidates["embedder+ranker"] = (model_dir, path)
            except ValueError as exc:
                decision["embedder+ranker"] = f"not fitted: {exc}"
            seconds["judge_tuned"] = time.perf_counter() - t

        held_judged = {name: judge(run, held_qrels) for name, run in held_run.items()}
        guard_judged: dict[str, Judgement] = {}
        if guard is not None:
            t = time.perf_counter()
            tell(f"judging on the guard set {guard.name} ({len(guard.artifacts)} documents)")
            by_model: dict[Path, list[str]] = {}
            for name, (model_dir, _) in [("live", (live_model, live_ranker)), *candidates.items()]:
                by_model.setdefault(model_dir, []).append(name)
            for n, (model_dir, names) in enumerate(by_model.items()):
                bench = Bench(mg.settings, work / f"guard-{n}", model_dir).build(guard.artifacts)
                for name in names:
                    ranker = live_ranker if name == "live" else candidates[name][1]
                    guard_judged[name] = judge(bench.rank(guard.queries, ranker), guard.qrels)
            seconds["guard"] = time.perf_counter() - t

        verdicts: dict[str, Verdict] = {
            name: decide(held_judged["live"], held_judged[name], guard_judged.get("live"),
                         guard_judged.get(name), s.learn_min_gain, s.learn_max_forgetting)
            for name in candidates
        }
        decision["live"] = {"heldout": held_judged["live"].figures(),
                            "guard": guard_judged["live"].figures() if "live" in guard_judged else None,
                            "model": str(live_model), "ranker": str(live_ranker)}
        decision["candidates"] = {
            name: {"heldout": held_judged[name].figures(),
                   "guard": guard_judged[name].figures() if name in guard_judged else None,
                   "passed": v.passed, "why": v.why, "gain": round(v.gain, 4),
                   "gain_low": round(v.gain_low, 4)}
            for name, v in verdicts.items()
        }
        passing = [n for n, v in verdicts.items() if v.passed]
        pool = passing or (list(verdicts) if force else [])
        if not pool:
            decision["why"] = "no candidate passed the gate: " + "; ".join(
                f"{n}: {v.why}" for n, v in verdicts.items()) if verdicts else "no candidate could be made"
            _record(data_dir, decision, seconds=seconds, started=started)
            return decision
        chosen = max(pool, key=lambda n: held_judged[n].ndcg)
        model_dir, ranker = candidates[chosen]
        active = Active(cid, str(model_dir) if model_dir != live_model else mg.learned.model_dir,
                        str(ranker) if ranker != live_ranker else mg.learned.ranker)
        decision.update(chosen=chosen, swapped=True, forced=chosen not in passing,
                        why=("forced: " if chosen not in passing else "") + verdicts[chosen].why)
        t = time.perf_counter()
        _serve(mg, active, tell)
        seconds["swap"] = time.perf_counter() - t
        keep = {Path(p) for p in (active.model_dir, active.ranker) if p}
        made = [p for p in made if p not in keep]
        decision["active"] = asdict(active)
        _record(data_dir, decision, active, seconds, started)
        return decision
    except Exception as exc:  # a run that broke is recorded too, then reported
        decision.update(swapped=False, why=f"failed: {type(exc).__name__}: {exc}")
        _record(data_dir, decision, seconds=seconds, started=started)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for path in made:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _serve(mg: Matchgraph, active: Active, tell: Say) -> None:
    """Build the index a changed model needs (the served version stays until it is done), then
    serve ``active``; a re-index that slipped in with the old model meanwhile is redone."""
    new_model = Path(active.model_dir) if active.model_dir else mg.settings.index.model_path()
    if new_model != mg.model_path():
        tell("building the index with the new model")
        candidate = mg.settings.index.load_embedder(new_model)
        mg.candidate_index_job(lambda: candidate).run(force=True, wait=True)
    mg.serve_models(active)
    mg.job.run(wait=True)  # builds again only if a re-index with the old model slipped in
    mg.rank()  # the scores' content similarities come from the served vectors


def rollback(mg: Matchgraph, say: Say | None = None) -> dict[str, Any]:
    """Serve the models that were active before the last swap (and record it)."""
    tell = say or (lambda _m: None)
    try:
        lock = _learn_lock(mg.settings.data_dir).__enter__()
    except JobRunning:
        raise JobRunning("a learning run is under way in this data directory; roll back after it") from None
    try:
        state = read_state(mg.settings.data_dir)
        if not state.previous:
            raise ValueError("nothing to roll back: no learned model was swapped in")
        back = state.previous.pop()
        _serve(mg, back, tell)
        decision = {"candidate": state.active.candidate,
                    "at": datetime.now(UTC).isoformat(timespec="seconds"), "rollback": True,
                    "swapped": True, "why": f"rolled back to {back.candidate or 'the configured models'}",
                    "active": asdict(back)}
        state.active = back
        state.decisions.append(decision)
        write_state(mg.settings.data_dir, state)
        return decision
    finally:
        lock.__exit__(None, None, None)


def status(data_dir: Path) -> LearningState:
    return read_state(data_dir)
