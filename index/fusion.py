"""Combining rankings. Reciprocal-rank fusion is the default: it needs no score
calibration between BM25 and cosine, and its weights say how much each ranking counts."""

from __future__ import annotations

from collections.abc import Sequence


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], weights: Sequence[float], k: int = 60
) -> list[tuple[int, float]]:
    """Fuse ranked id lists into (id, score) pairs, best first.

    An id's score is the sum over rankings of ``weight / (k + rank)`` (rank from 1).
    Ties break on the best single rank, then on id, so the order is deterministic.
    """
    if len(rankings) != len(weights):
        raise ValueError("one weight per ranking is required")
    scores: dict[int, float] = {}
    best: dict[int, int] = {}
    for ranking, weight in zip(rankings, weights):
        if weight == 0:
            continue
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            best[item] = min(best.get(item, rank), rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], best[kv[0]], kv[0]))
