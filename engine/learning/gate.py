"""The gate a candidate passes before it serves: better on the held-out needs, and no worse (beyond a
tolerance) on the guard set.

"Better" is measured per need (nDCG@10 on the held-out part of the pairs, split by query): the mean
gain must reach ``min_gain`` and the lower end of its 95% bootstrap interval must be above zero, so
a candidate that wins on a few lucky needs is refused. The guard (e.g. SciFact) checks that what
the candidate learned did not cost what the live models already did well.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from matchgraph.engine.learning.judge import Judgement

ROUNDS = 2000


def bootstrap_low(gains: np.ndarray, rounds: int = ROUNDS, seed: int = 0) -> float:
    """The 5th percentile of the mean gain over resampled needs (a one-sided 95% bound)."""
    if len(gains) == 0:
        return 0.0
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(gains), size=(rounds, len(gains)))
    return float(np.quantile(gains[picks].mean(axis=1), 0.05))


@dataclass(frozen=True)
class Verdict:
    passed: bool
    why: str
    gain: float
    gain_low: float
    forgetting: float | None


def decide(live: Judgement, candidate: Judgement, live_guard: Judgement | None,
           candidate_guard: Judgement | None, min_gain: float, max_forgetting: float) -> Verdict:
    needs = sorted(set(live.per_query) & set(candidate.per_query))
    gains = np.array([candidate.per_query[q] - live.per_query[q] for q in needs])
    gain = float(gains.mean()) if len(gains) else 0.0
    low = bootstrap_low(gains)
    forgetting = None
    if live_guard is not None and candidate_guard is not None:
        forgetting = live_guard.ndcg - candidate_guard.ndcg
    if not needs:
        return Verdict(False, "no held-out needs to judge it on", gain, low, forgetting)
    if gain < min_gain:
        return Verdict(False, f"held-out nDCG@10 gain {gain:+.4f} is under the required {min_gain:+.4f}",
                       gain, low, forgetting)
    if low <= 0:
        return Verdict(False, f"held-out gain {gain:+.4f} is not reliable (95% lower bound {low:+.4f} "
                       f"over {len(needs)} needs)", gain, low, forgetting)
    if forgetting is not None and forgetting > max_forgetting:
        return Verdict(False, f"loses {forgetting:.4f} nDCG@10 on the guard set (at most "
                       f"{max_forgetting:.4f} allowed)", gain, low, forgetting)
    guard = "no guard set" if forgetting is None else f"guard change {-forgetting:+.4f}"
    return Verdict(True, f"held-out nDCG@10 {gain:+.4f} (95% lower bound {low:+.4f}), {guard}",
                   gain, low, forgetting)


def summary(judgements: Mapping[str, Judgement]) -> dict[str, dict[str, float | int]]:
    return {name: j.figures() for name, j in judgements.items()}
