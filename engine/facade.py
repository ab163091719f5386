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
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from matchgraph.engine.catalog.ingest import IngestReport, ingest_paths
from matchgraph.engine.catalog.models import ArtifactType
from matchgraph.engine.errors import IndexNotReady, InvalidQuery, MatchgraphError
from matchgraph.engine.evidence.graph import export_graph, to_networkx
from matchgraph.engine.evidence.rank_job import RankSummary, rank_is_stale, run_rank
from matchgraph.engine.evidence.scores import explain_change, weights_for
from matchgraph.engine.recommend import compare as comparing
from matchgraph.engine.recommend.resolve import Outcome, Resolution, record_feedback, resolution
from matchgraph.engine.recommend.similarity import ContentSpace
from matchgraph.engine.recommend.suggest import Suggestion, suggest
from matchgraph.engine.search.filters import Facets, SearchFilters
from matchgraph.engine.search.page_cache import VersionedLRU
from matchgraph.engine.search.query import clean_query
from matchgraph.engine.search.recorder import MatchRecorder
from matchgraph.engine.search.searcher import (
    MAX_LIMIT,
    Ranked,
    SearchEngine,
    SearchRequest,
    SearchResult,
    hash_client,
)
from matchgraph.engine.settings import Settings
from matchgraph.engine.store import open_store
from matchgraph.engine.store.base import ArtifactRecord, CapabilityRecord, EdgeRow, ScoreRow, StoreCounts
from matchgraph.index.builder import Progress, build_index
from matchgraph.index.embedding.embedder import Embedder, load_embedder
from matchgraph.index.lock import JobLock
from matchgraph.index.versions import (
    IndexVersion,
    VersionManifest,
    current_version,
    list_versions,
    load_version,
    versions_dir,
)

if TYPE_CHECKING:
    from matchgraph.engine.jobs.index_job import ReindexReport

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
        self._content: tuple[str, ContentSpace] | None = None
        self.pages: VersionedLRU[Ranked] = VersionedLRU(settings.page_cache_size)
        record = settings.record_matches if record is None else record
        self.recorder = (
            MatchRecorder(open_store(settings), settings.writer_batch_size,
                          settings.writer_flush_seconds, settings.writer_nice)
            if record else None
        )

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            s = self.settings
            self._embedder = load_embedder(
                s.model_path(), s.query_cache_size, s.embed_backend, s.model_cache_dir, s.max_tokens
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
        """First start: ingest the bundled catalog if the store is empty, index if needed.

        Runs under the index-job lock (waiting for it), so several server processes starting
        on one data directory prepare it once.
        """
        with JobLock(self.settings.index_root, wait=True):
            self._prepare(catalog_dir, progress)

    def _prepare(self, catalog_dir: Path | None, progress: Progress | None) -> None:
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
        if rank_is_stale(self.store):
            self.rank()

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
            nprobe=self.settings.ivf_nprobe,
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

    def search(self, request: SearchRequest, vector: np.ndarray | None = None) -> SearchResult:
        """One search; ``vector`` is the query's embedding when the caller already has it
        (from ``embed_query_soon``), so the model never runs twice for one search."""
        return self.search_many([request], None if vector is None else vector[None, :])[0]

    def embed_query_soon(self, query: str) -> Future[np.ndarray]:
        """The vector of ``query``, done at once when it is cached, else from the model thread
        (``Embedder.embed_soon``), so a server can wait for the one slow step of a search
        without holding a thread, and run the rest (``search(request, vector)``) where it likes.

        An invalid query raises ``InvalidQuery`` at once, as the search would."""
        s = self.settings
        return self.embedder.embed_soon(clean_query(query, s.query_min_chars, s.query_max_chars))

    def warm_up(self) -> None:
        """Make the first searches as quick as the rest: start the model thread (it plans its
        input shapes first) and run unrecorded searches, with and without a filter, so the
        index, the store's pages and the code paths are loaded before a client waits on them.
        Without an index there is nothing to warm and this returns quietly."""
        query = "warm up the search engine"
        self.embed_query_soon(query).result()
        for filters in (SearchFilters(), SearchFilters(types=(ArtifactType.model,))):
            try:
                self.search(SearchRequest(query, filters, record=False))
            except IndexNotReady:
                return

    def search_many(
        self, requests: Sequence[SearchRequest], vectors: np.ndarray | None = None
    ) -> list[SearchResult]:
        engine = SearchEngine(self.settings, self.store, self.embedder, self._served_version,
                              self.recorder, self.max_limit, self.pages)
        return engine.search_many(requests, vectors)

    def health(self) -> Health:
        try:
            version, _ = self._served_version()
            name, count, model = version.version, version.manifest.count, version.manifest.model
            status = "degraded" if self.fallback_note else "ok"
        except MatchgraphError:
            name, count, model, status = None, 0, None, "no-index"
        pending = self.recorder.pending if self.recorder else 0
        return Health(status, name, count, model, self.store.counts(), pending)

    # -- match graph, ranker, recommendations ----------------------------------------------
    def content(self) -> ContentSpace:
        """Capability vectors and artifact centroids of the served index version."""
        version, facets = self._served_version()
        if self._content is None or self._content[0] != version.version:
            self._content = (version.version, ContentSpace(version, facets))
        return self._content[1]

    def rank(self, as_of: date | None = None) -> RankSummary:
        if self.recorder is not None:
            self.recorder.flush()
        return run_rank(self.store, self.content(), self.settings, as_of)

    def score(self, artifact_id: int) -> ScoreRow | None:
        return self.store.scores_for([artifact_id]).get(artifact_id)

    def explain(self, slug: str) -> tuple[list[str], list[tuple[str, float]]]:
        """Why the score moved between the last two runs, and the score history (as_of, score)."""
        record = self.get_artifact(slug)
        history = self.store.score_history(record.row_id)
        points = [(run.as_of, row.score) for run, row in reversed(history)]
        if len(history) < 2:
            return [], points
        weights = weights_for(record.artifact.type.value, self.settings.rank_weights)
        (_, now), (_, before) = history[0], history[1]
        lines = explain_change(before.parts, now.parts, weights)  # type: ignore[arg-type]
        return lines, points

    def neighbours(self, slug: str) -> tuple[ArtifactRecord, list[tuple[EdgeRow, ArtifactRecord]]]:
        record = self.get_artifact(slug)
        edges = self.store.neighbours(record.row_id)
        others = self.store.artifacts_by_row([e.b if e.a == record.row_id else e.a for e in edges])
        return record, [(e, others[e.b if e.a == record.row_id else e.a]) for e in edges
                        if (e.b if e.a == record.row_id else e.a) in others]

    def export_graph(self, path: Path, fmt: str) -> int:
        edges = self.store.all_edges()
        records, _ = self.store.list_artifacts(limit=10**9, offset=0)
        scores = self.store.scores_for([r.row_id for r in records])
        nodes: dict[int, dict[str, object]] = {
            r.row_id: {"slug": r.artifact.slug, "name": r.artifact.name, "type": r.artifact.type.value,
                       "times_matched": r.times_matched,
                       "score": scores[r.row_id].score if r.row_id in scores else None}
            for r in records
        }
        export_graph(to_networkx(edges, nodes), path, fmt)
        return len(edges)

    def alternatives(
        self, slugs: list[str], limit: int = 5
    ) -> list[tuple[Suggestion, ArtifactRecord]]:
        records = [self.get_artifact(s) for s in slugs]
        page = [r.row_id for r in records]
        content = self.content()
        edges = [e for row_id in page for e in self.store.neighbours(row_id)]
        candidates = {c for a in page for c in content.similar_artifacts(a)} | {
            x for e in edges for x in (e.a, e.b)
        }
        cap_rows = [c for a in candidates for c in content.capabilities.get(a, [])]
        names = {row_id: rec.capability.name
                 for row_id, rec in self.store.capabilities_by_row(cap_rows).items()}
        found = suggest(content, page, edges, names, limit)
        others = self.store.artifacts_by_row([s.artifact_id for s in found])
        return [(s, others[s.artifact_id]) for s in found if s.artifact_id in others]

    def suggested_searches(self, slugs: list[str], limit: int = 5) -> list[tuple[str, int]]:
        return self.store.top_queries([self.get_artifact(s).row_id for s in slugs], limit)

    def compare(self, slug_a: str, slug_b: str) -> comparing.Comparison:
        if slug_a == slug_b:
            raise InvalidQuery("compare needs two different artifacts")
        ra, rb = self.get_artifact(slug_a), self.get_artifact(slug_b)
        scores = self.store.scores_for([ra.row_id, rb.row_id])
        a, b = comparing.Side(ra, scores.get(ra.row_id)), comparing.Side(rb, scores.get(rb.row_id))
        alignment = self.content().align(ra.row_id, rb.row_id)
        ids = self.store.capabilities_by_row(
            [*alignment.only_a, *alignment.only_b, *(x for p in alignment.pairs for x in p[:2])]
        )
        aligned = [(ids[x].cap_id, ids[y].cap_id, sim) for x, y, sim in alignment.pairs
                   if x in ids and y in ids]
        return comparing.Comparison(
            a=a, b=b, rows=comparing.table(a, b), aligned=aligned,
            only_a=[ids[x].cap_id for x in alignment.only_a if x in ids],
            only_b=[ids[x].cap_id for x in alignment.only_b if x in ids],
            verdict=comparing.verdict(a, b, len(aligned)), summary=comparing.summary(a, b),
        )

    def resolve(
        self, intent: str, type_: ArtifactType | None = None, limit: int = 5,
        client_id: str | None = None, source: str = "resolve",
    ) -> Resolution:
        filters = SearchFilters(types=(type_,) if type_ else ())
        result = self.search(SearchRequest(intent, filters, limit=limit, source=source,
                                           client_id=client_id))
        return resolution(result)

    def feedback(
        self, search_id: str, artifact: str, capability: str | None, outcome: Outcome,
        client_id: str | None = None,
    ) -> bool:
        if self.recorder is not None:
            self.recorder.flush()  # the search may still be on its way to the database
        client = hash_client(self.settings.client_salt, client_id)
        return record_feedback(self.store, search_id, artifact, capability, outcome, client)

    def timeline(self, slug: str) -> list[tuple[str, int]]:
        """Times matched per day, (day, distinct units), oldest first; days without matches omitted."""
        return self.store.match_timeline(self.get_artifact(slug).row_id)

    # -- re-indexing --------------------------------------------------------------------
    def reindex(self, progress: Progress | None = None, force: bool = False) -> ReindexReport:
        from matchgraph.engine.jobs.index_job import run_reindex

        return run_reindex(self, progress, force)
