"""Does learning from selections improve answers, and what does it cost?

    python benchmarks/learning.py torchhub      # APIBench torchhub train → eval, transfer to tensorflow
    python benchmarks/learning.py scifact       # SciFact qrels/train.tsv → qrels/test.tsv
    python benchmarks/learning.py torchhub --no-guard --no-embedder   # quicker: the ranker alone

Each run makes a throwaway deployment whose catalog is the task's corpus, feeds the training
judgements to ``matchgraph learn`` as selections (BEIR pairs), and measures the test needs before
and after through the real search path with the relevance floor off (the floor is calibrated on
AI-catalog needs and cuts real answers on these corpora; see the README). ``torchhub`` also
measures APIBench tensorflow with the models before and after (transfer: its catalog and needs
were never trained on). The guard set is SciFact (``--no-guard`` skips it). The best candidate is
swapped in whatever the gate says (``--gate`` swaps only what passes), so that the figures after
learning are those of a learned model; the gate's verdict is printed beside them. Data is read
from ../shared/data; figures are printed, not asserted; say which CPU they came from (``lscpu``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from matchgraph.engine.evaluation.beir import apibench_to_beir, doc_artifact, doc_slug, read_jsonl, read_qrels
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.learning.judge import DEPTH, Bench, Ranked, judge
from matchgraph.engine.learning.pairs import from_beir
from matchgraph.engine.learning.run import learn
from matchgraph.engine.search.searcher import SearchRequest
from matchgraph.engine.settings import Settings

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


Task = tuple[list[Any], dict[str, str], dict[str, dict[str, int]]]


def beir_task(folder: Path, qrels_name: str = "qrels.tsv") -> Task:
    corpus, queries, qrels = folder / "corpus.jsonl", folder / "queries.jsonl", folder / qrels_name
    judged = read_qrels(qrels)
    docs = read_jsonl(corpus)
    text = {str(q["_id"]): str(q["text"]) for q in read_jsonl(queries) if str(q["_id"]) in judged}
    rels = {q: {doc_slug(d): r for d, r in r_.items()} for q, r_ in judged.items() if q in text}
    return [doc_artifact(d) for d in docs], text, rels


def measure(settings: Settings, work: Path, model: Path, ranker: Path, task: Task) -> dict[str, float]:
    artifacts, queries, qrels = task
    bench = Bench(settings, work, model).build(artifacts)
    return judge(bench.rank(queries, ranker), qrels).figures()


def measure_served(mg: Matchgraph, task: Task) -> dict[str, float]:
    """The deployment's own answers (its catalog is the task's corpus): no index to build."""
    _, queries, qrels = task
    run: dict[str, Ranked] = {}
    items = list(queries.items())
    for start in range(0, len(items), 32):
        chunk = items[start : start + 32]
        results = mg.search_many([SearchRequest(t[:500], limit=DEPTH, record=False) for _, t in chunk])
        for (qid, _), result in zip(chunk, results):
            run[qid] = Ranked([h.artifact.artifact.slug for h in result.hits])
    return judge(run, qrels).figures()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("task", choices=("torchhub", "scifact"))
    parser.add_argument("--no-guard", action="store_true", help="skip the SciFact guard")
    parser.add_argument("--no-embedder", action="store_true", help="learn the ranker only")
    parser.add_argument("--gate", action="store_true", help="swap only what passes the gate")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--also-scifact", action="store_true",
                        help="torchhub: measure SciFact test before and after too (forgetting)")
    args = parser.parse_args()
    if not SHARED.exists():
        print(f"{SHARED} is absent: this benchmark needs the shared data", file=sys.stderr)
        return 2
    scifact = SHARED / "scifact"
    api = SHARED / "apibench"
    with tempfile.TemporaryDirectory(prefix="matchgraph-learn-") as tmp:
        root = Path(tmp)
        if args.task == "torchhub":
            apibench_to_beir(api / "torchhub_api.jsonl", api / "torchhub_train.json", root / "train")
            apibench_to_beir(api / "torchhub_api.jsonl", api / "torchhub_eval.json", root / "eval")
            apibench_to_beir(api / "tensorflowhub_api.jsonl", api / "tensorflow_eval.json", root / "tf")
            folder = root / "train"
            train = from_beir(folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels.tsv")
            tests = {"torchhub eval": beir_task(root / "eval"),
                     "tensorflow eval (transfer)": beir_task(root / "tf")}
            if args.also_scifact:
                tests["scifact test (forgetting)"] = beir_task(scifact, "qrels/test.tsv")
        else:
            train = from_beir(scifact / "corpus.jsonl", scifact / "queries.jsonl",
                              scifact / "qrels" / "train.tsv")
            tests = {"scifact test": beir_task(scifact, "qrels/test.tsv")}
        settings = Settings(data_dir=root / "state", learn_epochs=args.epochs, relevance_floor=0.0)
        own = {a.slug for a in train.artifacts}

        def served_here(task: Task) -> bool:
            return {a.slug for a in task[0]} == own

        with Matchgraph(settings, record=False, max_limit=DEPTH) as mg:
            mg.ingest_artifacts(train.artifacts)
            mg.index()
            before_model, before_ranker = mg.model_path(), mg.relevance_model_path()
            before = {name: measure_served(mg, task) if served_here(task) else
                      measure(settings, root / f"before-{i}", before_model, before_ranker, task)
                      for i, (name, task) in enumerate(tests.items())}
            t = time.perf_counter()
            decision = learn(mg, train, guard=None if args.no_guard else scifact,
                             embedder=not args.no_embedder, force=not args.gate,
                             say=lambda m: print(f"  [{time.perf_counter() - t:6.0f}s] {m}", flush=True))
            elapsed = time.perf_counter() - t
            after_model, after_ranker = mg.model_path(), mg.relevance_model_path()
            after = {name: measure_served(mg, task) if served_here(task) else
                     measure(settings, root / f"after-{i}", after_model, after_ranker, task)
                     for i, (name, task) in enumerate(tests.items())}
    print(json.dumps({k: v for k, v in decision.items() if k not in {"active"}}, indent=2))
    print(f"\nlearning: {decision.get('pairs')} pairs, {elapsed:.0f} s end to end "
          f"({elapsed / max(1, decision.get('pairs', 1)) * 1000:.0f} s per 1,000 pairs), "
          f"chosen {decision.get('chosen')}, forced {decision.get('forced')}")
    for name in tests:
        b, a = before[name], after[name]
        print(f"{name:28} nDCG@10 {b['ndcg@10']:.4f} -> {a['ndcg@10']:.4f}   "
              f"MRR@10 {b['mrr@10']:.4f} -> {a['mrr@10']:.4f}   ({b['queries']} needs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
