"""Dense vector search with FAISS: inner product over normalised vectors (cosine).

Backends by name: ``flat`` (exact) and ``hnsw`` (approximate, for large catalogs);
``auto`` picks flat up to a size threshold. Every backend is keyed by capability row id
through an ID map, supports an allow-list filter, and saves to a plain FAISS file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

from engine.errors import UnknownBackend

DENSE_BACKENDS = ("flat", "hnsw")
INDEX_FILE = "dense.faiss"


class DenseIndex(Protocol):
    kind: str

    @property
    def size(self) -> int: ...

    def search(
        self, vectors: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row; ids are -1 where fewer than k exist."""
        ...

    def save(self, directory: Path) -> None: ...


class FaissIndex:
    def __init__(self, index: faiss.Index, kind: str, ef_search: int = 128):
        self.index = index
        self.kind = kind
        self.ef_search = ef_search

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def search(
        self, vectors: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        k = max(1, min(k, self.size)) if self.size else 1
        if self.size == 0 or (allowed is not None and len(allowed) == 0):
            n = len(vectors)
            return np.zeros((n, k), np.float32), np.full((n, k), -1, np.int64)
        params: faiss.SearchParameters | None = None
        selector = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
        # faiss's bundled type stubs lag behind its SWIG API for search parameters
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                efSearch=max(self.ef_search, k), sel=selector
            )
        elif selector is not None:
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        scores, ids = self.index.search(np.ascontiguousarray(vectors, np.float32), k, params=params)
        return scores, ids

    def save(self, directory: Path) -> None:
        faiss.write_index(self.index, str(directory / INDEX_FILE))


def choose_kind(requested: str, count: int, flat_max: int) -> str:
    if requested == "auto":
        return "flat" if count <= flat_max else "hnsw"
    if requested not in DENSE_BACKENDS:
        raise UnknownBackend(
            f"unknown dense backend {requested!r}; valid: auto, {', '.join(DENSE_BACKENDS)}"
        )
    return requested


def build_dense(
    kind: str,
    ids: np.ndarray,
    vectors: np.ndarray,
    *,
    hnsw_m: int = 32,
    ef_construction: int = 80,
    ef_search: int = 128,
) -> FaissIndex:
    dim = vectors.shape[1]
    if kind == "flat":
        inner: faiss.Index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        inner = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = ef_construction
    else:
        raise UnknownBackend(f"unknown dense backend {kind!r}; valid: {', '.join(DENSE_BACKENDS)}")
    index = faiss.IndexIDMap2(inner)
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, np.float32), ids.astype(np.int64))
    return FaissIndex(index, kind, ef_search)


def load_dense(directory: Path, kind: str, ef_search: int = 128) -> FaissIndex:
    return FaissIndex(faiss.read_index(str(directory / INDEX_FILE)), kind, ef_search)
