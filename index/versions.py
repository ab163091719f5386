"""Index versions: each is a directory of plain files with a JSON manifest.

    <index_root>/versions/<version>/manifest.json   model, dimension, count, catalog hash, built_at
                                   /ids.npy         capability row ids, position order
                                   /vectors.npy     normalised float32 embeddings (position order)
                                   /text_hashes.txt sha256 of each embedded text (for reuse)
                                   /dense.faiss     FAISS index keyed by row id (may
                                                    hold retired entries, see index.dense),
                                   /pgvector.json   or, with pgvector, the table in PostgreSQL
                                   /lexical/        BM25 matrices and vocabulary
    <index_root>/CURRENT                           the version being served

A version is written under a temporary name, fsynced, then renamed into place; CURRENT
is replaced atomically (write, fsync, rename), so a reader sees a whole version or the
previous one, never a half-written one.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from matchgraph.index.dense import DenseIndex, load_dense
from matchgraph.index.errors import IndexMismatch, IndexNotReady
from matchgraph.index.faults import checkpoint
from matchgraph.index.lexical import LexicalIndex

MANIFEST = "manifest.json"
CURRENT = "CURRENT"
FORMAT = 1


@dataclass(frozen=True)
class VersionManifest:
    version: str
    model: str
    model_fingerprint: str
    dimension: int
    count: int
    catalog_hash: str
    built_at: str
    dense_kind: str
    embedded: int
    reused: int
    format: int = FORMAT
    dense_updated: bool = False  # the previous version's dense index, brought up to date
    dense_retired: int = 0  # HNSW entries replaced or deleted, skipped by searches

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


@dataclass
class IndexVersion:
    path: Path
    manifest: VersionManifest
    ids: np.ndarray
    text_hashes: list[str]
    vectors: np.ndarray
    dense: DenseIndex
    lexical: LexicalIndex

    def __post_init__(self) -> None:
        self.position_of = {int(row_id): pos for pos, row_id in enumerate(self.ids)}
        self.file_sizes = _file_sizes(self.path)

    def damage(self) -> str | None:
        """What changed in this version's folder since it was loaded (a file deleted, truncated or
        rewritten), or None. Everything is held in memory, so serving goes on; this is for health."""
        now = _file_sizes(self.path)
        changed = sorted(f for f in self.file_sizes if now.get(f) != self.file_sizes[f])
        return f"files changed since loading: {', '.join(changed)}" if changed else None

    @property
    def version(self) -> str:
        return self.manifest.version


def _file_sizes(path: Path) -> dict[str, int]:
    try:
        return {str(f.relative_to(path)): f.stat().st_size for f in path.rglob("*") if f.is_file()}
    except OSError:
        return {}


def versions_dir(root: Path) -> Path:
    return root / "versions"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for item in sorted(path.rglob("*")):
        if item.is_file():
            with open(item, "rb+") as fh:
                os.fsync(fh.fileno())
    for folder in [path, *[p for p in path.rglob("*") if p.is_dir()]]:
        _fsync_dir(folder)


def write_version(
    root: Path,
    manifest: VersionManifest,
    ids: np.ndarray,
    text_hashes: list[str],
    vectors: np.ndarray,
    dense: DenseIndex,
    lexical: LexicalIndex,
) -> Path:
    """Write a complete version directory and return its final path (not yet current)."""
    base = versions_dir(root)
    base.mkdir(parents=True, exist_ok=True)
    tmp = base / f".tmp-{manifest.version}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    checkpoint("writing-ids")
    np.save(tmp / "ids.npy", ids.astype(np.int64), allow_pickle=False)
    checkpoint("writing-vectors")
    np.save(tmp / "vectors.npy", vectors.astype(np.float32), allow_pickle=False)
    (tmp / "text_hashes.txt").write_text("\n".join(text_hashes), encoding="utf-8")
    checkpoint("writing-dense")
    dense.save(tmp)
    checkpoint("writing-lexical")
    lexical.save(tmp)
    checkpoint("writing-manifest")
    (tmp / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    _fsync_tree(tmp)
    checkpoint("before-rename")
    final = base / manifest.version
    os.rename(tmp, final)
    _fsync_dir(base)
    checkpoint("after-rename")
    return final


def switch_current(root: Path, version: str) -> None:
    checkpoint("before-switch")
    tmp = root / f".{CURRENT}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(version + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / CURRENT)
    _fsync_dir(root)
    checkpoint("after-switch")


def current_version(root: Path) -> str | None:
    try:
        return (root / CURRENT).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def list_versions(root: Path) -> list[str]:
    base = versions_dir(root)
    if not base.exists():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))


def read_manifest(path: Path) -> VersionManifest:
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        return VersionManifest(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise IndexNotReady(f"index version at {path} has no readable manifest: {exc}") from exc


def load_version(
    path: Path, *, model_fingerprint: str | None = None, dimension: int | None = None,
    ef_search: int = 128, nprobe: int = 0,
) -> IndexVersion:
    manifest = read_manifest(path)
    if manifest.format != FORMAT:
        raise IndexMismatch(f"index version {manifest.version} has format {manifest.format}; "
                            f"this matchgraph reads format {FORMAT}. Run `matchgraph index`.")
    if dimension is not None and manifest.dimension != dimension:
        raise IndexMismatch(
            f"index version {manifest.version} holds {manifest.dimension}-dimensional vectors but "
            f"the configured model gives {dimension}. Run `matchgraph index` to rebuild it."
        )
    if model_fingerprint is not None and manifest.model_fingerprint != model_fingerprint:
        raise IndexMismatch(
            f"index version {manifest.version} was built with model {manifest.model} "
            f"({manifest.model_fingerprint}), not the configured one ({model_fingerprint}). "
            "Run `matchgraph index` to rebuild it."
        )
    try:
        ids = np.load(path / "ids.npy", allow_pickle=False)
        # read whole, not memory-mapped: a file truncated under a live map kills the process on
        # the next read (SIGBUS); a copy in memory (1.5 KB per capability) cannot be cut short
        vectors = np.load(path / "vectors.npy", allow_pickle=False)
        text = (path / "text_hashes.txt").read_text(encoding="utf-8")
        hashes = text.split("\n") if text else []
        dense = load_dense(path, manifest.dense_kind, ef_search, nprobe)
        if hasattr(dense, "local"):  # pgvector: searches fall back to these when the database is down
            dense.local = (ids, vectors)
        lexical = LexicalIndex.load(path)
    except (OSError, ValueError, RuntimeError) as exc:
        raise IndexNotReady(f"index version {manifest.version} at {path} is damaged: {exc}") from exc
    if not (len(ids) == manifest.count == len(hashes) == dense.size == vectors.shape[0]):
        raise IndexNotReady(
            f"index version {manifest.version} is inconsistent: manifest says {manifest.count}, "
            f"files hold ids={len(ids)} hashes={len(hashes)} dense={dense.size} "
            f"vectors={vectors.shape[0]}"
        )
    return IndexVersion(path, manifest, ids, hashes, vectors, dense, lexical)


def load_current(root: Path, **checks: object) -> IndexVersion:
    version = current_version(root)
    if version is None:
        raise IndexNotReady(f"no index has been built under {root}. Run `matchgraph index`.")
    return load_version(versions_dir(root) / version, **checks)  # type: ignore[arg-type]


def prune_versions(root: Path, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` versions (never the current one) and any
    half-written temporary directories. Only call while holding the job lock."""
    base = versions_dir(root)
    removed: list[str] = []
    if not base.exists():
        return removed
    for leftover in base.glob(".tmp-*"):
        shutil.rmtree(leftover, ignore_errors=True)
        removed.append(leftover.name)
    current = current_version(root)
    names = list_versions(root)
    survivors = set(names[-keep:]) | ({current} if current else set())
    for name in names:
        if name not in survivors:
            shutil.rmtree(base / name, ignore_errors=True)
            removed.append(name)
    return removed
