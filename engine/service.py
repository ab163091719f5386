"""The engine façade: one object that the API, the CLI and the evaluation talk to.

It owns the store, the (lazily loaded) embedding model, the served index version and the
match recorder. The served version is re-read when the CURRENT pointer changes, so a
new index goes live without a restart; a request keeps the version it started with.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.catalog import IngestReport, ingest_paths
from engine.errors import IndexNotReady, MatchgraphError
from engine.filters import Facets
from engine.recorder import MatchRecorder
from engine.search import MAX_LIMIT, SearchEngine, SearchRequest, SearchResult
from engine.settings import Settings
from engine.store import open_store
from engine.store.base import ArtifactRecord, CapabilityRecord, StoreCounts
from index.builder import Progress, build_index
from index.embedder import Embedder, load_embedder
from index.versions import (
    IndexVersion,
    VersionManifest,
    current_version,
    list_versions,
    load_version,
    versions_dir,
)

logger = logging.getLogger(__name__)
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Health:
    status: str
    index_version: str | None
    index_count: int
    model: str | None
    counts: StoreCounts
    pending_matches: int


class Matchgraph:
    def __init__(self, settings: Settings, *, record: bool | None = None):
        self.settings = settings
        self.store = open_store(settings)
        self._embedder: Embedder | None = None
        self._lock = threading.Lock()
        self._served: tuple[IndexVersion, Facets] | None = None
        self._served_name: str | None = None
        self._checked_at = 0.0
        self.fallback_note: str | None = None
        self.max_limit = MAX_LIMIT
        record = settings.record_matches if record is None else record
        self.recorder = (
            MatchRecorder(open_store(settings), settings.writer_batch_size,
                          settings.writer_flush_seconds)
            if record else None
        )

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            s = self.settings
            self._embedder = load_embedder(
                s.model_path(), s.query_cache_size, s.embed_backend, s.model_cache_dir
            )
        return self._embedder

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
        self.store.close()

    def __enter__(self) -> Matchgraph:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ensure_ready(self, catalog_dir: Path | None = None, progress: Progress | None = None) -> None:
        """First start: ingest the bundled catalog if the store is empty, index if needed."""
        if self.store.counts().artifacts == 0:
            folder = catalog_dir or self.settings.catalog_dir
            report = self.ingest([folder])
            logger.info("ingested the catalog at %s: %s", folder, report.summary())
        name = current_version(self.settings.index_root)
        stale = True
        if name is not None:
            try:
                version, _ = self._served_version()
                stale = version.manifest.catalog_hash != self.store.catalog_hash()
            except MatchgraphError as exc:
                logger.warning("the current index cannot be served: %s", exc)
        if stale:
            self.build_index(progress)

    # -- catalog -----------------------------------------------------------------------
    def ingest(self, paths: Sequence[Path], skip_invalid: bool = False) -> IngestReport:
        return ingest_paths(self.store, paths, skip_invalid)

    def build_index(self, progress: Progress | None = None) -> VersionManifest:
        manifest = build_index(self.store, self.embedder, self.settings, progress)
        self._checked_at = 0.0  # pick it up on the next request
        return manifest

    def get_artifact(self, slug: str) -> ArtifactRecord:
        return self.store.get_artifact(slug)

    def list_artifacts(self, limit: int, offset: int) -> tuple[list[ArtifactRecord], int]:
        return self.store.list_artifacts(limit, offset)

    def get_capability(self, cap_id: str) -> CapabilityRecord:
        return self.store.get_capability(cap_id)

    # -- search ------------------------------------------------------------------------
    def _load(self, name: str) -> IndexVersion:
        return load_version(
            versions_dir(self.settings.index_root) / name,
            model_fingerprint=self.embedder.fingerprint,
            dimension=self.embedder.dimension,
            ef_search=self.settings.hnsw_ef_search,
        )

    def _served_version(self) -> tuple[IndexVersion, Facets]:
        now = time.monotonic()
        if self._served is not None and now - self._checked_at < POLL_SECONDS:
            return self._served
        with self._lock:
            self._checked_at = now
            name = current_version(self.settings.index_root)
            if name is None:
                raise IndexNotReady("no index has been built yet; run `matchgraph index`")
            if self._served is not None and name == self._served_name:
                return self._served
            try:
                version = self._load(name)
                self.fallback_note = None
            except IndexNotReady as exc:
                version = self._fallback(name, exc)
            self._served = (version, Facets(self.store.capability_facets()))
            self._served_name = name
            return self._served

    def _fallback(self, broken: str, error: IndexNotReady) -> IndexVersion:
        """Serve the newest older version that loads, and say so."""
        if self._served is not None:
            self.fallback_note = f"version {broken} is damaged ({error}); still serving the last good one"
            logger.error(self.fallback_note)
            return self._served[0]
        for name in reversed(list_versions(self.settings.index_root)):
            if name == broken:
                continue
            try:
                version = self._load(name)
            except MatchgraphError:
                continue
            self.fallback_note = f"version {broken} is damaged ({error}); serving {name} instead"
            logger.error(self.fallback_note)
            return version
        raise error

    def search(self, request: SearchRequest) -> SearchResult:
        return self.search_many([request])[0]

    def search_many(self, requests: Sequence[SearchRequest]) -> list[SearchResult]:
        engine = SearchEngine(self.settings, self.store, self.embedder, self._served_version,
                              self.recorder, self.max_limit)
        return engine.search_many(requests)

    def health(self) -> Health:
        try:
            version, _ = self._served_version()
            name, count, model = version.version, version.manifest.count, version.manifest.model
            status = "degraded" if self.fallback_note else "ok"
        except MatchgraphError:
            name, count, model, status = None, 0, None, "no-index"
        pending = self.recorder.pending if self.recorder else 0
        return Health(status, name, count, model, self.store.counts(), pending)
