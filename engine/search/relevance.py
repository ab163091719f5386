"""How likely an artifact serves a need, from the evidence a search has about it.

The evidence (``ArtifactEvidence``) is what the retrievers and the need's reading give: the
cosine of its best and second-best capability to the need, the share of the need's
informative words its best capability (and all its matched capabilities together) contain,
its place in the fused ranking, whether the need names it and
whether it is of the kind the need asks for. A logistic model turns that into a probability;
its weights are fitted on the relevance dev set (``matchgraph eval --needs … --fit``) and
shipped in ``data/relevance.json``.

The same probability is the search's relevance floor (an artifact below
``relevance_floor`` is not returned) and resolve's confidence.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FEATURES = ("cos1", "cos2", "cov1", "cov_all", "fused", "named", "name_share", "kind_match", "kind_miss")


@dataclass(frozen=True)
class ArtifactEvidence:
    artifact_id: int
    cos1: float  # best capability's cosine to the need
    cos2: float  # second-best capability's (0 when it has one capability)
    cov1: float  # idf-weighted share of the need's words in its best-covering capability
    cov_all: float  # … in its matched capabilities together
    fused: float  # its best capability's reciprocal-rank-fusion score, 1 = first on both sides
    named: bool  # the need names it (an artifact it wants an alternative to is never ranked)
    name_share: float  # the share of the need's words its name takes ("midjourney": 1)
    kind_match: bool  # the need asks for a kind, and it is of that kind
    kind_miss: bool  # the need asks for a kind it is not

    def features(self) -> tuple[float, ...]:
        """In ``FEATURES`` order."""
        return (self.cos1, self.cos2, self.cov1, self.cov_all, self.fused, float(self.named),
                self.name_share, float(self.kind_match), float(self.kind_miss))

    def vector(self) -> np.ndarray:
        return np.array(self.features(), dtype=np.float64)


@dataclass(frozen=True)
class RelevanceModel:
    weights: tuple[float, ...]
    bias: float
    floor: float = 0.5  # the least probability a result needs (chosen when the model is fitted)
    # Resolve's confidence that the first answer is right, from the first answer's probability,
    # its margin over the second and how many artifacts cleared the floor (a need that many
    # artifacts serve a little is vaguer than one a few serve well): a logistic model with these
    # weights and intercept, fitted on the first answers of the dev set.
    confidence_weights: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)

    def probability_of(self, features: np.ndarray) -> float:
        """``probabilities_of`` for one row of ``FEATURES``."""
        return float(self.probabilities_of(features[None, :])[0])

    def probabilities_of(self, features: np.ndarray) -> np.ndarray:
        """``probability`` of many at once: one row of ``FEATURES`` per artifact."""
        if not len(features):
            return np.zeros(0)
        z = features @ np.asarray(self.weights) + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))

    def confidence(self, first: float, second: float, passing: int) -> float:
        *weights, intercept = self.confidence_weights
        return _sigmoid(float(np.dot(weights, confidence_features(first, second, passing))) + intercept)

    def to_json(self) -> dict[str, object]:
        return {"features": list(FEATURES), "weights": list(self.weights), "bias": self.bias,
                "floor": self.floor, "confidence_weights": list(self.confidence_weights)}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> RelevanceModel:
        features = list(data["features"])  # type: ignore[call-overload]
        if features != list(FEATURES):
            raise ValueError(f"relevance model features {features} are not {list(FEATURES)}")
        weights = tuple(float(w) for w in data["weights"])  # type: ignore[attr-defined]
        w, m, n, b = (float(v) for v in data.get("confidence_weights", (1.0, 0.0, 0.0, 0.0)))  # type: ignore[attr-defined]
        return cls(weights, float(data["bias"]), float(data.get("floor", 0.5)), (w, m, n, b))  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> RelevanceModel:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


def _logit(p: float) -> float:
    p = min(1 - 1e-6, max(1e-6, p))
    return math.log(p / (1 - p))


def confidence_features(first: float, second: float, passing: int) -> np.ndarray:
    return np.array([_logit(first), first - second, math.log(max(1, passing))])


def fit_confidence(firsts: Sequence[tuple[float, float, int]], right: Sequence[bool]
                   ) -> tuple[float, float, float, float]:
    """The confidence weights that turn first answers (probability, second's probability,
    artifacts that cleared the floor) into the chance that the first answer is right."""
    x = np.array([confidence_features(*f) for f in firsts])
    fitted = fit(x, np.array(right, dtype=float), l2=1.0)
    w, m, n = fitted.weights
    return w, m, n, fitted.bias


def fit(samples: np.ndarray, labels: np.ndarray, l2: float = 1.0, steps: int = 3000) -> RelevanceModel:
    """Logistic regression by Newton's method with an L2 penalty (on the weights, not the bias):
    a few features and a few thousand samples, so it converges in a handful of steps."""
    x = np.hstack([samples, np.ones((len(samples), 1))])
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -40, 40)))
        grad = x.T @ (p - labels) + penalty * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return RelevanceModel(tuple(float(v) for v in w[:-1]), float(w[-1]))
