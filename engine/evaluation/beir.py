"""Retrieval evaluation on BEIR-format data, through the real ingest → index → search path.

Each corpus document becomes an artifact with one capability (title as its name, text
as its description) in a throwaway data directory; every query runs through
``Matchgraph.search_many`` with recording off. Metrics: nDCG@10 (linear gain, as
trec_eval), Recall@10, Recall@100 and MRR@10, averaged over queries that have qrels.
"""

from __future__ import annotations

import csv
import json
import math
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from matchgraph.engine.catalog.models import Artifact, ArtifactType, Capability
from matchgraph.engine.errors import MatchgraphError
from matchgraph.engine.evaluation.needs import Need, fit_and_write
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.search.searcher import SearchRequest
from matchgraph.engine.settings import Settings
from matchgraph.index.builder import Progress

MODES = {"dense": "dense", "lexical": "lexical", "hybrid": "rrf"}
DEPTH = 100
_SLUG_BAD = re.compile(r"[^a-z0-9._-]+")
# eval files write "###Instruction: … ###Output"; train files a dict "{'Instruction': …, 'Output': …}"
_INSTRUCTION = re.compile(r"(?:###Instruction:|'Instruction':)(.*?)(?:###Output|,\s*'Output')", re.S)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if len(row) < 3 or not row[2].strip().lstrip("-").isdigit():
                continue  # header or malformed line
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def doc_slug(doc_id: str) -> str:
    cleaned = _SLUG_BAD.sub("-", doc_id.lower()).strip("-._") or "x"
    return f"doc-{cleaned}"[:120]


def doc_artifact(doc: dict[str, Any]) -> Artifact:
    doc_id = str(doc["_id"])
    title = (doc.get("title") or "").strip()
    text = (doc.get("text") or "").strip() or title or doc_id
    capability = Capability(key="text", name=(title or doc_id)[:300], description=text[:8000])
    return Artifact(slug=doc_slug(doc_id), name=(title or doc_id)[:300],
                    type=ArtifactType.dataset, capabilities=[capability])


def ndcg_at(ranked: Sequence[str], rels: dict[str, int], k: int) -> float:
    dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((r for r in rels.values() if r > 0), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: Sequence[str], rels: dict[str, int], k: int) -> float:
    relevant = {d for d, r in rels.items() if r > 0}
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def mrr_at(ranked: Sequence[str], rels: dict[str, int], k: int) -> float:
    for i, d in enumerate(ranked[:k]):
        if rels.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def score_run(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    qids = [q for q in qrels if q in run]
    n = max(1, len(qids))
    return {
        "ndcg@10": sum(ndcg_at(run[q], qrels[q], 10) for q in qids) / n,
        "recall@10": sum(recall_at(run[q], qrels[q], 10) for q in qids) / n,
        "recall@100": sum(recall_at(run[q], qrels[q], 100) for q in qids) / n,
        "mrr@10": sum(mrr_at(run[q], qrels[q], 10) for q in qids) / n,
    }


def run_queries(
    mg: Matchgraph, queries: dict[str, str], slug_to_doc: dict[str, str], batch: int = 32
) -> dict[str, list[str]]:
    run: dict[str, list[str]] = {}
    items = list(queries.items())
    for start in range(0, len(items), batch):
        chunk = items[start : start + batch]
        requests = [SearchRequest(text, limit=DEPTH, record=False, source="eval") for _, text in chunk]
        for (qid, _), result in zip(chunk, mg.search_many(requests)):
            run[qid] = [slug_to_doc[h.artifact.artifact.slug] for h in result.hits]
    return run


def evaluate_beir(
    corpus: Path, queries: Path, qrels: Path, modes: Iterable[str], settings: Settings,
    progress: Progress | None = None, state_dir: Path | None = None, fit_qrels: Path | None = None,
) -> dict[str, Any]:
    """Score each mode on ``qrels``. With ``fit_qrels`` (a training split, such as SciFact's
    ``train.tsv``), the relevance model and its floor are first fitted on those queries over
    this corpus, as a deployment on such a catalog would, and the modes run with that model;
    queries judged in both files are left out of the fit."""
    judged = read_qrels(qrels)
    all_queries = read_jsonl(queries)
    query_text = {str(q["_id"]): q["text"] for q in all_queries if str(q["_id"]) in judged}
    docs = read_jsonl(corpus)
    with tempfile.TemporaryDirectory(prefix="matchgraph-eval-", dir=state_dir) as tmp:
        base = settings.changed(data_dir=Path(tmp), record_matches=False)
        artifacts = [doc_artifact(d) for d in docs]
        slug_to_doc = {a.slug: str(d["_id"]) for a, d in zip(artifacts, docs)}
        report: dict[str, Any] = {"documents": len(docs), "queries": len(query_text), "modes": {}}
        with Matchgraph(base, record=False) as mg:
            mg.ingest_artifacts(artifacts)
            report["index"] = mg.index(progress).run.version
            if fit_qrels is not None:
                fitted = Path(tmp) / "relevance.json"
                report["fit"] = fit_and_write(mg, training_needs(fit_qrels, all_queries, judged,
                                                                 settings.search.query_max_chars), fitted)
                base = base.changed(relevance_model=fitted)
        for mode in modes:
            mode_settings = base.changed(fusion=MODES[mode])
            with Matchgraph(mode_settings, record=False, max_limit=DEPTH) as mg:
                run = run_queries(mg, query_text, slug_to_doc)
            report["modes"][mode] = score_run(run, judged)
    return report


def training_needs(fit_qrels: Path, queries: list[dict[str, Any]], held: dict[str, dict[str, int]],
                   max_chars: int) -> list[Need]:
    """The training split's queries as needs whose accepted artifacts are their relevant documents."""
    text = {str(q["_id"]): str(q["text"]) for q in queries}
    needs: list[Need] = []
    for qid, rels in read_qrels(fit_qrels).items():
        accept = frozenset(doc_slug(d) for d, r in rels.items() if r > 0)
        if qid in text and qid not in held and accept and text[qid].strip():
            needs.append(Need(len(needs) + 1, text[qid].strip()[:max_chars], accept))
    if not needs:
        raise MatchgraphError(f"{fit_qrels}: no judged query in it has text in the queries file")
    return needs


def apibench_to_beir(api_jsonl: Path, eval_json: Path, out_dir: Path) -> dict[str, int]:
    """Write an APIBench catalog and its eval instructions as a BEIR set.

    Each catalog line becomes a document whose text is ``api_name. domain. functionality.
    description``; a query is the instruction (``###Instruction: … ###Output`` in the eval
    files, ``{'Instruction': …, 'Output': …}`` in the train files) and
    every catalog line with the query's ``api_call`` is relevant to it.
    """
    apis = read_jsonl(api_jsonl)
    out_dir.mkdir(parents=True, exist_ok=True)
    by_call: dict[str, list[str]] = {}
    with (out_dir / "corpus.jsonl").open("w", encoding="utf-8") as fh:
        for i, api in enumerate(apis):
            doc_id = f"api-{i}"
            by_call.setdefault(str(api.get("api_call", "")).strip(), []).append(doc_id)
            text = ". ".join(
                str(api.get(k) or "").strip()
                for k in ("api_name", "domain", "functionality", "description")
            )
            fh.write(json.dumps({"_id": doc_id, "title": "", "text": text}) + "\n")
    written = skipped = 0
    with (out_dir / "queries.jsonl").open("w", encoding="utf-8") as qf, \
            (out_dir / "qrels.tsv").open("w", encoding="utf-8") as rf:
        rf.write("query-id\tcorpus-id\tscore\n")
        for n, item in enumerate(read_jsonl(eval_json)):
            code = str(item.get("code", ""))
            match = _INSTRUCTION.search(code)
            relevant = by_call.get(str(item.get("api_call", "")).strip())
            if not match or not relevant or not match.group(1).strip():
                skipped += 1
                continue
            qid = f"q-{n}"
            qf.write(json.dumps({"_id": qid, "text": match.group(1).strip()[:500]}) + "\n")
            for doc_id in relevant:
                rf.write(f"{qid}\t{doc_id}\t1\n")
            written += 1
    return {"documents": len(apis), "queries": written, "skipped": skipped}
