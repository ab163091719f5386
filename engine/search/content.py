"""Content similarity between artifacts and between their capabilities, from the vectors of
the served index version (no re-embedding)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from matchgraph.engine.search.filters import Facets
from matchgraph.index.versions import IndexVersion


@dataclass(frozen=True)
class Alignment:
    pairs: list[tuple[int, int, float]]  # (capability of A, capability of B, cosine)
    only_a: list[int]
    only_b: list[int]


class ContentSpace:
    """Capability vectors and per-artifact centroids of one index version."""

    def __init__(self, version: IndexVersion, facets: Facets):
        self.version = version
        by_artifact: dict[int, list[int]] = defaultdict(list)
        for row_id in version.ids:
            artifact_id = facets.artifact_of(int(row_id))
            if artifact_id is not None:
                by_artifact[artifact_id].append(int(row_id))
        self.capabilities = dict(by_artifact)
        self.artifact_ids = np.array(sorted(by_artifact), dtype=np.int64)
        self._row = {int(a): i for i, a in enumerate(self.artifact_ids)}
        dim = version.vectors.shape[1] if len(version.ids) else 0
        self.centroids = np.zeros((len(self.artifact_ids), dim), dtype=np.float32)
        for i, artifact_id in enumerate(self.artifact_ids):
            vectors = self.vectors(by_artifact[int(artifact_id)])
            centroid = vectors.mean(axis=0)
            self.centroids[i] = centroid / (np.linalg.norm(centroid) or 1.0)

    def vectors(self, capability_rows: list[int]) -> np.ndarray:
        positions = [self.version.position_of[r] for r in capability_rows
                     if r in self.version.position_of]
        return np.asarray(self.version.vectors[positions], dtype=np.float32)

    def similarity(self, a: int, b: int) -> float:
        if a not in self._row or b not in self._row:
            return 0.0
        return float(self.centroids[self._row[a]] @ self.centroids[self._row[b]])

    def similar_artifacts(self, artifact_id: int) -> dict[int, float]:
        """Cosine of every other artifact's centroid to this one's."""
        if artifact_id not in self._row:
            return {}
        sims = self.centroids @ self.centroids[self._row[artifact_id]]
        return {int(a): float(s) for a, s in zip(self.artifact_ids, sims) if int(a) != artifact_id}

    def align(self, a: int, b: int, threshold: float = 0.5,
              allowed: Callable[[int, int], bool] | None = None) -> Alignment:
        """Greedy one-to-one matching of A's and B's capabilities by cosine, best pairs first;
        ``allowed(capability of A, capability of B)`` may rule pairs out (e.g. opposite jobs)."""
        caps_a, caps_b = self.capabilities.get(a, []), self.capabilities.get(b, [])
        if not caps_a or not caps_b:
            return Alignment([], list(caps_a), list(caps_b))
        sims = self.vectors(caps_a) @ self.vectors(caps_b).T
        pairs: list[tuple[int, int, float]] = []
        used_a: set[int] = set()
        used_b: set[int] = set()
        for flat in np.argsort(-sims, axis=None, kind="stable"):
            i, j = divmod(int(flat), sims.shape[1])
            if sims[i, j] < threshold:
                break
            if i in used_a or j in used_b or (allowed is not None and not allowed(caps_a[i], caps_b[j])):
                continue
            used_a.add(i)
            used_b.add(j)
            pairs.append((caps_a[i], caps_b[j], round(float(sims[i, j]), 4)))
        only_a = [c for i, c in enumerate(caps_a) if i not in used_a]
        only_b = [c for j, c in enumerate(caps_b) if j not in used_b]
        return Alignment(pairs, only_a, only_b)
