"""The learned ranker: the relevance model (``engine.search.relevance``) refitted on the needs of
the training pairs, over the features the search already computes for every artifact it ranks
(best and second-best cosine, lexical coverage, the fused dense+BM25 rank score, name and kind
match).

It replaces the live relevance model, which orders results and also sets the relevance floor.
A model fitted on another mix of right and wrong answers gives other probabilities, so the floor
is moved with it: to the probability that lets through the same share of the right answers of
the training needs as the live model's floor does.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from matchgraph.engine.learning.judge import Ranked
from matchgraph.engine.search.relevance import RelevanceModel, fit

HEAD = 50  # the candidates of each need the model is fitted on: the head of the ranking


def training_rows(run: Mapping[str, Ranked], qrels: Mapping[str, Mapping[str, int]]
                  ) -> tuple[np.ndarray, np.ndarray]:
    rows: list[np.ndarray] = []
    labels: list[float] = []
    for qid, ranked in run.items():
        relevant = qrels.get(qid, {})
        if not any(s in relevant for s in ranked.slugs[:HEAD]):
            continue  # the retrievers missed it: nothing to reorder
        for slug, features in list(zip(ranked.slugs, ranked.features))[:HEAD]:
            rows.append(features)
            labels.append(1.0 if relevant.get(slug, 0) > 0 else 0.0)
    if not rows:
        return np.zeros((0, 0)), np.zeros(0)
    return np.vstack(rows), np.array(labels)


def fit_ranker(samples: np.ndarray, labels: np.ndarray, live: RelevanceModel, l2: float = 1.0
               ) -> RelevanceModel:
    """A relevance model fitted on the rows, with the floor moved to keep the live model's recall."""
    if len(labels) == 0 or labels.min() == labels.max():
        raise ValueError("the ranker needs right and wrong answers among the retrieved candidates")
    fitted = fit(samples, labels, l2=l2)
    right = samples[labels > 0]
    passing = float((live.probabilities_of(right) >= live.floor).mean())
    probabilities = np.sort(fitted.probabilities_of(right))
    if passing >= 1.0:
        floor = float(probabilities[0])
    elif passing <= 0.0:
        floor = float(probabilities[-1]) + 1e-6
    else:
        floor = float(np.quantile(probabilities, 1.0 - passing))
    return RelevanceModel(fitted.weights, fitted.bias, round(min(max(floor, 0.0), 1.0), 6),
                          live.confidence_weights)
