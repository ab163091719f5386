"""Judging models on a catalog: index it with a model in a throwaway state, run needs through the
real search path (the relevance floor off: the order is what is judged), score the rankings.

One index serves every ranker judged with its model (a ranker only reorders what the retrievers
found), so a model costs one embedding of the catalog however many rankers are compared on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from matchgraph.engine.catalog.models import Artifact
from matchgraph.engine.evaluation.beir import mrr_at, ndcg_at
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.search.searcher import SearchRequest
from matchgraph.engine.settings import Settings
from matchgraph.index.builder import Progress

DEPTH = 100
BATCH = 32


@dataclass
class Ranked:
    """One need's answer: artifact slugs best first, with each one's relevance features."""

    slugs: list[str]
    features: list[np.ndarray] = field(default_factory=list)


@dataclass(frozen=True)
class Judgement:
    ndcg: float  # nDCG@10, averaged over the judged needs
    mrr: float  # MRR@10
    per_query: dict[str, float]  # nDCG@10 of each need

    def figures(self) -> dict[str, float | int]:
        return {"ndcg@10": round(self.ndcg, 4), "mrr@10": round(self.mrr, 4), "queries": len(self.per_query)}


def judge(run: Mapping[str, Ranked], qrels: Mapping[str, Mapping[str, int]]) -> Judgement:
    judged = [q for q in qrels if q in run]
    per = {q: ndcg_at(run[q].slugs, dict(qrels[q]), 10) for q in judged}
    mrr = [mrr_at(run[q].slugs, dict(qrels[q]), 10) for q in judged]
    n = max(1, len(judged))
    return Judgement(sum(per.values()) / n, math.fsum(mrr) / n, per)


class Bench:
    """A catalog indexed with one model in ``folder``; ``rank`` runs needs with a ranker."""

    def __init__(self, base: Settings, folder: Path, model_dir: Path, floor_off: bool = True):
        """``floor_off``: return every candidate (judging the order); else the served floor applies."""
        self.settings = base.changed(data_dir=folder, record_matches=False, model=str(model_dir),
                                     learned_models=False,
                                     **({"relevance_floor": 0.0} if floor_off else {}))
        self.model_dir = model_dir

    def build(self, artifacts: list[Artifact], progress: Progress | None = None) -> Bench:
        with Matchgraph(self.settings, record=False) as mg:
            mg.ingest_artifacts(artifacts)
            mg.index(progress)
        return self

    def rank(self, queries: Mapping[str, str], ranker: Path,
             on_batch: Callable[[int, int], None] | None = None) -> dict[str, Ranked]:
        settings = self.settings.changed(relevance_model=str(ranker))
        out: dict[str, Ranked] = {}
        limit = settings.search.query_max_chars
        items = [(q, t.strip()[:limit]) for q, t in queries.items()
                 if len(t.strip()) >= settings.search.query_min_chars]
        with Matchgraph(settings, record=False, max_limit=DEPTH) as mg:
            for start in range(0, len(items), BATCH):
                chunk = items[start : start + BATCH]
                requests = [SearchRequest(text, limit=DEPTH, record=False, source="learn")
                            for _, text in chunk]
                for (qid, _), result in zip(chunk, mg.search_many(requests)):
                    out[qid] = Ranked([h.artifact.artifact.slug for h in result.hits],
                                      [h.evidence.vector() for h in result.hits if h.evidence is not None])
                if on_batch is not None:
                    on_batch(min(start + BATCH, len(items)), len(items))
        return out
