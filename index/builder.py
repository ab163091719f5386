"""Building an index version: embed the documents, build dense + lexical indexes into a new
version directory, verify it, and make it current.

Vectors whose text (and model) did not change since the current version are reused, so
a rebuild costs in proportion to what changed. Every build runs under the index-job lock,
which the caller takes and hands in (``JobLock``): a build that does not hold it is refused,
so no two writers ever race on the versions directory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from matchgraph.index.config import IndexConfig
from matchgraph.index.dense import (
    DenseIndex,
    FaissIndex,
    build_dense,
    choose_kind,
    dense_params,
    updated_dense,
)
from matchgraph.index.embedding.embedder import Embedder
from matchgraph.index.errors import IndexMismatch, IndexNotReady, MatchgraphError
from matchgraph.index.faults import checkpoint
from matchgraph.index.lexical import LexicalIndex
from matchgraph.index.lock import JobLock
from matchgraph.index.versions import (
    IndexVersion,
    VersionManifest,
    current_version,
    load_current,
    load_version,
    switch_current,
    versions_dir,
    write_version,
)

logger = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


class Document(Protocol):
    """What the index needs of one document: its id (a capability's row id) and its text."""

    @property
    def row_id(self) -> int: ...

    @property
    def text(self) -> str: ...


def _require(lock: JobLock, root: Path) -> None:
    if not lock.held or lock.root != root:
        raise RuntimeError(f"building an index needs the job lock of {root} held")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _previous(root: Path, embedder: Embedder) -> IndexVersion | None:
    if current_version(root) is None:
        return None
    try:
        return load_current(root, model_fingerprint=embedder.fingerprint,
                            dimension=embedder.dimension)
    except MatchgraphError as exc:
        logger.info("not reusing the current index version: %s", exc)
        return None


def build_index(
    lock: JobLock, root: Path, docs: Sequence[Document], catalog_hash: str, embedder: Embedder,
    config: IndexConfig, progress: Progress | None = None,
) -> VersionManifest:
    """Embed what changed since the current version and publish a new version under ``root``.
    ``catalog_hash`` names the catalog the documents came from (kept in the manifest)."""
    _require(lock, root)
    caps = list(docs)
    hashes = [text_hash(c.text) for c in caps]
    vectors = np.zeros((len(caps), embedder.dimension), dtype=np.float32)

    previous = _previous(root, embedder)
    reuse: dict[str, int] = {}
    if previous is not None:
        reuse = {h: pos for pos, h in enumerate(previous.text_hashes)}
    todo: list[int] = []
    for pos, h in enumerate(hashes):
        old = reuse.get(h)
        if old is not None and previous is not None:
            vectors[pos] = previous.vectors[old]
        else:
            todo.append(pos)

    batch = config.embed_batch_size
    done = len(caps) - len(todo)
    if progress:
        progress(done, len(caps))
    # Sixteen batches per call, so a backend can keep every core busy (one batch per stream)
    # and sort a longer run of texts by length; progress and fault checkpoints stay frequent.
    step = batch * 16
    try:
        for start in range(0, len(todo), step):
            checkpoint("embedding")
            chunk = todo[start : start + step]
            vectors[chunk] = embedder.encode([caps[i].text for i in chunk], batch_size=batch)
            done += len(chunk)
            if progress:
                progress(done, len(caps))
    finally:
        embedder.release_batch_buffers()  # a server keeps only what answering queries needs
    checkpoint("embedded")
    return publish_version(lock, root, caps, vectors, catalog_hash, embedder, config, embedded=len(todo),
                           previous=previous)


def _dense_for(
    ids: np.ndarray, hashes: list[str], vectors: np.ndarray, config: IndexConfig,
    previous: IndexVersion | None, version: str, texts: list[str],
) -> tuple[DenseIndex, bool]:
    """The previous version's dense index brought up to date where that is cheaper and as good,
    else a fresh build; and whether it was updated. With pgvector: the version's table and its
    HNSW index in PostgreSQL (not yet the one served)."""
    kind = choose_kind(config.dense_backend, len(ids), config.flat_max, config.hnsw_max)
    if kind == "pgvector":
        from matchgraph.index.pgvector import shared_store

        return shared_store().build(version, ids, hashes, texts, vectors, config.hnsw_m,
                                    config.hnsw_ef_construction), False
    wanted = dense_params(kind, len(ids), hnsw_m=config.hnsw_m,
                          ef_construction=config.hnsw_ef_construction, ivf_nlist=config.ivf_nlist)
    if (previous is not None and isinstance(previous.dense, FaissIndex)
            and previous.dense.kind == kind != "flat" and previous.dense.params() == wanted):
        before = set(zip(previous.ids.tolist(), previous.text_hashes))
        now = list(zip(ids.tolist(), hashes))
        kept = set(now) & before
        retire = np.array(sorted({rid for rid, h in before - kept}), dtype=np.int64)
        fresh = [pos for pos, pair in enumerate(now) if pair not in kept]
        updated = updated_dense(previous.dense, retire, ids[fresh], vectors[fresh],
                                config.dense_max_retired)
        if updated is not None:
            logger.info("dense index updated in place: %d retired, %d added, %d carried",
                        len(retire), len(fresh), len(kept))
            return updated, True
    dense = build_dense(kind, ids, vectors, hnsw_m=config.hnsw_m,
                        ef_construction=config.hnsw_ef_construction,
                        ef_search=config.hnsw_ef_search, ivf_nlist=config.ivf_nlist,
                        ivf_nprobe=config.ivf_nprobe)
    return dense, False


def publish_version(
    lock: JobLock,
    root: Path,
    caps: Sequence[Document],
    vectors: np.ndarray,
    catalog_hash: str,
    embedder: Embedder,
    config: IndexConfig,
    embedded: int,
    previous: IndexVersion | None = None,
) -> VersionManifest:
    """Build dense + lexical indexes over ``caps`` and their vectors, verify, make current.

    ``previous`` (the current version, loaded apart from the one being served) lets the dense
    index be updated instead of rebuilt."""
    _require(lock, root)
    ids = np.array([c.row_id for c in caps], dtype=np.int64)
    hashes = [text_hash(c.text) for c in caps]
    texts = [c.text for c in caps]
    now = datetime.now(UTC)
    name = now.strftime("%Y%m%dT%H%M%S.%f") + "-" + uuid.uuid4().hex[:6]  # sorts by time
    dense, updated = _dense_for(ids, hashes, vectors, config, previous, name, texts)
    lexical = LexicalIndex.build(texts, k1=config.bm25_k1, b=config.bm25_b)
    manifest = VersionManifest(
        version=name,
        model=embedder.name,
        model_fingerprint=embedder.fingerprint,
        dimension=embedder.dimension,
        count=len(caps),
        catalog_hash=catalog_hash,
        built_at=now.isoformat(timespec="seconds"),
        dense_kind=dense.kind,
        embedded=embedded,
        reused=len(caps) - embedded,
        dense_updated=updated,
        dense_retired=dense.retired,
    )
    shared = dense.kind == "pgvector"
    try:
        path = write_version(root, manifest, ids, hashes, vectors, dense, lexical)
        try:
            verify_version(path, embedder, config)
        except IndexNotReady:
            # a version that failed verification must never be served, not even as a fallback
            shutil.rmtree(path, ignore_errors=True)
            raise
    except BaseException:
        if shared:
            _shared().discard(manifest.version)
        raise
    switch_current(root, manifest.version)
    if shared:  # every replica serves it from now on: one transaction in PostgreSQL
        _shared().publish(manifest.version, manifest.to_json())
    logger.info("index version %s is current (%d capabilities)", manifest.version, len(caps))
    return manifest


def verify_version(path: Path, embedder: Embedder, config: IndexConfig, sample: int = 20) -> None:
    """Reload the written version and check that sampled documents retrieve themselves in their
    top 5. A document whose text equals another's counts as found when any document with the
    same text is there (identical texts have identical vectors, and only so many fit in a top 5)."""
    version = load_version(path, model_fingerprint=embedder.fingerprint,
                           dimension=embedder.dimension, ef_search=config.hnsw_ef_search,
                           nprobe=config.ivf_nprobe)
    n = len(version.ids)
    if n == 0:
        return
    positions = np.linspace(0, n - 1, num=min(sample, n)).astype(int)
    queries = np.asarray(version.vectors[positions], dtype=np.float32)
    _, found = version.dense.search(queries, 5)
    hash_of = {int(row_id): h for row_id, h in zip(version.ids, version.text_hashes)}
    missing = [int(version.ids[p]) for p, row in zip(positions, found)
               if version.text_hashes[p] not in {hash_of.get(int(r)) for r in row if r >= 0}]
    if len(missing) > max(1, len(positions) // 20):
        raise IndexNotReady(
            f"index version {version.version} failed verification: capabilities {missing[:5]} "
            "do not retrieve themselves in their top 5"
        )


def _shared() -> Any:
    from matchgraph.index.pgvector import shared_store

    return shared_store()


def follow_database(lock: JobLock, root: Path, embedder: Embedder, config: IndexConfig) -> str | None:
    """With pgvector: make the version PostgreSQL names current here too, when it is another than
    this replica's. Its ids, texts and vectors are copied down and its BM25 index is built from
    those texts, so dense and lexical search agree on what the version holds. Returns the version
    switched to, or None when this replica already serves it (or the database names none)."""
    _require(lock, root)
    store = _shared()
    name = store.current()
    if name is None or name == current_version(root):
        return None
    if not (versions_dir(root) / name).exists():
        manifest_json, ids, hashes, texts, vectors = store.fetch(name)
        manifest = VersionManifest(**json.loads(manifest_json))
        if manifest.model_fingerprint != embedder.fingerprint or manifest.dimension != embedder.dimension:
            raise IndexMismatch(f"the database serves index version {name}, built with model "
                                f"{manifest.model} ({manifest.model_fingerprint}); this replica runs "
                                f"{embedder.fingerprint}. Configure the same model on every replica.")
        dense = store.index(name, len(ids))
        lexical = LexicalIndex.build(texts, k1=config.bm25_k1, b=config.bm25_b)
        write_version(root, manifest, ids, hashes, vectors, dense, lexical)
    switch_current(root, name)
    logger.info("index version %s is current here too (published by another replica)", name)
    return name
