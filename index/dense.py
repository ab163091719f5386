"""Dense vector search with FAISS: inner product over normalised vectors (cosine).

Backends by name: ``flat`` (exact), ``hnsw`` and ``ivf`` (approximate, for large
catalogs); ``auto`` picks by size. Every backend is keyed by capability row id through an
ID map, supports an allow-list filter, and saves to a plain FAISS file.

A re-index that changed little updates the previous HNSW or IVF index instead of building
a new one (``updated_dense``). HNSW cannot take a node out of its graph (and the ID map's
removal assumes a flat index's renumbering, which IVF does not do), so a replaced or deleted
vector is *retired*: its entry in the ID map becomes -1 and searches skip it (in HNSW it
still serves as a stepping stone). Once retired entries pass a share of the index, the job
builds it afresh.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import faiss
import numpy as np

from matchgraph.index.errors import UnknownBackend

DENSE_BACKENDS = ("flat", "hnsw", "ivf")
INDEX_FILE = "dense.faiss"


class DenseIndex(Protocol):
    kind: str
    retired: int

    def params(self) -> dict[str, int]: ...

    @property
    def size(self) -> int: ...

    def search(
        self, vectors: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row; ids are -1 where fewer than k exist."""
        ...

    def save(self, directory: Path) -> None: ...


RETIRED = -1
_LIVE = faiss.IDSelectorRange(0, 2**62)  # every real row id


class FaissIndex:
    def __init__(self, index: faiss.Index, kind: str, ef_search: int = 128, nprobe: int = 0):
        self.index = index
        self.id_mapped: Any = index  # an IndexIDMap2; faiss's type stubs do not say so
        self.kind = kind
        self.ef_search = ef_search
        self.nprobe = nprobe or self._auto_nprobe()
        self.retired = self._count_retired()

    def _count_retired(self) -> int:
        if self.kind == "flat":
            return 0
        return int(np.count_nonzero(faiss.vector_to_array(self.id_mapped.id_map) == RETIRED))

    def params(self) -> dict[str, int]:
        """The build parameters, read back from the index (to tell whether it can be updated)."""
        if self.kind == "hnsw":
            hnsw: Any = faiss.downcast_index(self.id_mapped.index).hnsw  # type: ignore[attr-defined]
            return {"m": int(hnsw.nb_neighbors(1)), "ef_construction": int(hnsw.efConstruction)}
        if self.kind == "ivf":
            return {"nlist": int(faiss.extract_index_ivf(self.index).nlist)}
        return {}

    def _auto_nprobe(self) -> int:
        """A sixteenth of the inverted lists (recall@10 about 0.95 at 1M vectors)."""
        if self.kind != "ivf":
            return 1
        return max(8, int(faiss.extract_index_ivf(self.index).nlist) // 16)

    @property
    def size(self) -> int:
        """Vectors a search can return (retired ones left out)."""
        return int(self.index.ntotal) - self.retired

    def search(
        self, vectors: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        # One query is too small to split across threads: OpenMP's hand-off then costs more
        # than the search (8x slower at 100k vectors on a busy 2-core machine). Concurrent
        # requests already use the cores. The setting is per calling thread.
        faiss.omp_set_num_threads(1)
        k = max(1, min(k, self.size)) if self.size else 1
        if self.size == 0 or (allowed is not None and len(allowed) == 0):
            n = len(vectors)
            return np.zeros((n, k), np.float32), np.full((n, k), -1, np.int64)
        params: faiss.SearchParameters | None = None
        selector: Any = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
        elif self.retired:
            selector = _LIVE
        # faiss's bundled type stubs lag behind its SWIG API for search parameters
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                efSearch=max(self.ef_search, k), sel=selector
            )
        elif self.kind == "ivf":
            params = faiss.SearchParametersIVF(nprobe=self.nprobe, sel=selector)  # type: ignore[call-arg]
        elif selector is not None:
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        scores, ids = self.index.search(np.ascontiguousarray(vectors, np.float32), k, params=params)
        return scores, ids

    def save(self, directory: Path) -> None:
        faiss.write_index(self.index, str(directory / INDEX_FILE))


def choose_kind(requested: str, count: int, flat_max: int, hnsw_max: int = 500_000) -> str:
    """``auto``: exact up to ``flat_max`` vectors, HNSW up to ``hnsw_max``, IVF beyond (at 1M
    vectors IVF reached recall@10 0.954 at 18 ms and builds 3x faster than HNSW)."""
    if requested == "pgvector":
        return requested
    if requested == "auto":
        return "flat" if count <= flat_max else ("hnsw" if count <= hnsw_max else "ivf")
    if requested not in DENSE_BACKENDS:
        raise UnknownBackend(
            f"unknown dense backend {requested!r}; valid: auto, {', '.join(DENSE_BACKENDS)}"
        )
    return requested


def ivf_lists(count: int, requested: int = 0) -> int:
    """Inverted lists for IVF: as asked, else about 4·sqrt(n) (at least 1, at most n/39)."""
    if requested:
        return requested
    return max(1, min(int(4 * count**0.5), count // 39 or 1))


def build_dense(
    kind: str,
    ids: np.ndarray,
    vectors: np.ndarray,
    *,
    hnsw_m: int = 32,
    ef_construction: int = 80,
    ef_search: int = 128,
    ivf_nlist: int = 0,
    ivf_nprobe: int = 0,
) -> FaissIndex:
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # builds do use every core
    dim = vectors.shape[1]
    data = np.ascontiguousarray(vectors, np.float32)
    if kind == "flat":
        inner: faiss.Index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        inner = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = ef_construction
    elif kind == "ivf":
        nlist = ivf_lists(len(ids), ivf_nlist)
        inner = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        if len(ids):  # train on a fixed sample so builds are repeatable
            sample = np.random.default_rng(0).choice(len(ids), min(len(ids), 64 * nlist), replace=False)
            inner.train(data[np.sort(sample)])
    else:
        raise UnknownBackend(f"unknown dense backend {kind!r}; valid: {', '.join(DENSE_BACKENDS)}")
    index = faiss.IndexIDMap2(inner)
    if len(ids):
        index.add_with_ids(data, ids.astype(np.int64))
    return FaissIndex(index, kind, ef_search, ivf_nprobe)


def dense_params(kind: str, count: int, *, hnsw_m: int, ef_construction: int,
                 ivf_nlist: int) -> dict[str, int]:
    """What ``FaissIndex.params`` would read back from an index built now with these settings."""
    if kind == "hnsw":
        return {"m": hnsw_m, "ef_construction": ef_construction}
    if kind == "ivf":
        return {"nlist": ivf_lists(count, ivf_nlist)}
    return {}


def updated_dense(
    previous: FaissIndex, retire: np.ndarray, ids: np.ndarray, vectors: np.ndarray,
    max_retired: float,
) -> FaissIndex | None:
    """``previous`` with the vectors of ``retire`` (row ids) taken out and ``ids``/``vectors``
    added, changed in place; None where a fresh build is the better choice (flat indexes,
    which rebuild in no time, and indexes that would carry too many retired entries)."""
    if previous.kind == "flat":
        return None
    retire = np.ascontiguousarray(retire, dtype=np.int64)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    live_after = previous.size - len(retire) + len(ids)
    if previous.retired + len(retire) > max_retired * max(1, live_after):
        return None
    id_map = faiss.vector_to_array(previous.id_mapped.id_map)
    id_map[np.isin(id_map, retire)] = RETIRED
    faiss.copy_array_to_vector(id_map, previous.id_mapped.id_map)
    previous.id_mapped.construct_rev_map()
    if len(ids):
        previous.index.add_with_ids(np.ascontiguousarray(vectors, np.float32), ids.astype(np.int64))
    previous.retired = previous._count_retired()
    return previous


def load_dense(directory: Path, kind: str, ef_search: int = 128, nprobe: int = 0) -> DenseIndex:
    if kind == "pgvector":  # psycopg is needed only then
        from matchgraph.index.pgvector import load_pgvector

        return load_pgvector(directory)
    return FaissIndex(faiss.read_index(str(directory / INDEX_FILE)), kind, ef_search, nprobe)
