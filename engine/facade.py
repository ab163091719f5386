"""The engine façade: the one object the API, the CLI, the MCP server and the evaluation talk to.

It wires the parts together once (stores, the lazily loaded model, the served index, the
searcher, the recorder, the index job, the readers of evidence and recommendations) and then
only delegates: each method hands the call to the part that owns it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from matchgraph.engine.access.keys import IssuedKey, Scope, authenticate, create_key
from matchgraph.engine.access.salt import deployment_salt
from matchgraph.engine.catalog.importers import ImportReport, SharedImport, run_import, run_import_all
from matchgraph.engine.catalog.ingest import (
    IngestReport,
    export_jsonl,
    ingest_artifacts,
    ingest_paths,
    ingest_records,
)
from matchgraph.engine.catalog.manifests import load_manifests
from matchgraph.engine.catalog.models import Artifact, ArtifactType
from matchgraph.engine.errors import IndexMismatch, IndexNotReady, MatchgraphError, StoreUnavailable
from matchgraph.engine.evidence.graph import load_graph_library
from matchgraph.engine.evidence.rank_job import RankSummary, rank_is_stale, run_rank
from matchgraph.engine.evidence.reading import EvidenceReader, Neighbour
from matchgraph.engine.jobs.index_job import IndexJob, IndexReport
from matchgraph.engine.learned import Active, active_models
from matchgraph.engine.recommend.compare import Comparison
from matchgraph.engine.recommend.recommender import Recommender
from matchgraph.engine.recommend.resolve import Outcome, Resolution, record_feedback, resolution
from matchgraph.engine.recommend.suggest import Alternative
from matchgraph.engine.search.content import ContentSpace
from matchgraph.engine.search.filters import Facets, SearchFilters
from matchgraph.engine.search.page_cache import VersionedLRU
from matchgraph.engine.search.recorder import MatchRecorder
from matchgraph.engine.search.relevance import RelevanceModel
from matchgraph.engine.search.searcher import (
    MAX_LIMIT,
    PendingSearch,
    Ranked,
    Searcher,
    SearchRequest,
    SearchResult,
    hash_client,
)
from matchgraph.engine.search.snapshot import Snapshot
from matchgraph.engine.settings import Settings, bundled_data
from matchgraph.engine.store import open_stores
from matchgraph.engine.store.reading import RecordReader
from matchgraph.engine.store.records import (
    ApiKeyRow,
    ArtifactRecord,
    CapabilityRecord,
    ReindexRun,
    ScoreRow,
    StoreCounts,
)
from matchgraph.index.builder import Progress
from matchgraph.index.embedding.embedder import Embedder
from matchgraph.index.served import ServedIndex
from matchgraph.index.versions import IndexVersion, load_version


@dataclass(frozen=True)
class Health:
    status: str
    index_version: str | None
    index_count: int
    model: str | None
    counts: StoreCounts
    pending_matches: int
    dropped_matches: int = 0  # not recorded: the database was down and the writer's buffer full
    database: str = "ok"  # or "unavailable" (counts are then the last read)


class Matchgraph:
    def __init__(self, settings: Settings, *, record: bool | None = None, max_limit: int = MAX_LIMIT):
        """``record`` overrides ``record_matches``; ``max_limit`` is the largest page a search may ask
        for (the evaluation asks for 100)."""
        self.settings = settings
        if settings.index.dense_backend == "pgvector":  # one shared dense index, in the same database
            from matchgraph.index.pgvector import use_database

            use_database(settings.database_url, settings.index.hnsw_ef_search)
        self.stores = open_stores(settings.store_backend, settings.db_path, settings.database_url or "",
                                  settings.database_pool_size)
        self.records = RecordReader(self.stores.catalog, self.stores.matchlog)
        self._last_counts = StoreCounts(0, 0, 0, 0)
        self._embedder: Embedder | None = None
        self.served: ServedIndex[Snapshot] = ServedIndex(settings.index_root, self._open_version,
                                                         self._snapshot)
        rec = settings.recorder
        self.recorder = (
            MatchRecorder(self.stores.matchlog, self.stores.database.close, rec.writer_batch_size,
                          rec.writer_flush_seconds, rec.writer_nice, rec.writer_max_pending,
                          rec.writer_outage_buffer)
            if (rec.record_matches if record is None else record) else None
        )
        self.pages: VersionedLRU[Ranked] = VersionedLRU(settings.search.page_cache_size)
        self.client_salt = deployment_salt(settings.data_dir, settings.limits.client_salt)
        self.max_limit = max_limit
        # what `matchgraph learn` swapped in (engine.learned), over the configured model and ranker
        self.learned = active_models(settings.data_dir) if settings.learning.learned_models else Active()
        self.searcher = self._searcher()
        self.evidence = EvidenceReader(self.records, self.stores.evidence, self.stores.matchlog,
                                       settings.ranking, self.flush_matches)
        self.recommender = Recommender(self.records, self.stores.evidence, self.content,
                                       settings.ranking.suggest_min_clients)
        self.job = self.candidate_index_job()

    # -- lifecycle ---------------------------------------------------------------------
    def model_path(self) -> Path:
        """The embedding model directory served: a learned one, else the configured one."""
        return Path(self.learned.model_dir) if self.learned.model_dir else self.settings.index.model_path()

    def relevance_model_path(self) -> Path:
        """The relevance model (ranker) served: a learned one, else the configured or bundled one."""
        if self.learned.ranker:
            return Path(self.learned.ranker)
        return self.settings.search.relevance_model or bundled_data() / "relevance.json"

    def _searcher(self) -> Searcher:
        model = RelevanceModel.load(self.relevance_model_path())
        return Searcher(self.settings.search, self.records, lambda: self.embedder, self.served.current,
                        self.recorder, self.pages, self.client_salt, model, self.max_limit)

    def candidate_index_job(self, embedder: Callable[[], Embedder] | None = None) -> IndexJob:
        """The index job; ``embedder`` builds with another model than the served one (a learning
        candidate), leaving the served version alone until the swap."""
        s = self.settings
        if embedder is None:
            return IndexJob(self.stores, s.index, s.index_root, lambda: self.embedder, self.rank,
                            self.served.refresh)
        # the scores read the served version's vectors, which stay the old model's until the swap
        return IndexJob(self.stores, s.index, s.index_root, embedder, lambda: None, lambda: None)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self.settings.index.load_embedder(self.model_path())
        return self._embedder

    def serve_models(self, active: Active) -> None:
        """Serve other learned models from the next search on (a learning run swapped or rolled
        back). A changed embedding model needs an index built with it: ``engine.learning`` builds
        that before calling this, then the served version is re-read."""
        learned = active if self.settings.learning.learned_models else Active()
        s = self.settings.index
        model = Path(learned.model_dir) if learned.model_dir else s.model_path()
        # loaded first, so that the switch below is a few assignments
        embedder = s.load_embedder(model)
        self.learned, self._embedder = learned, embedder
        # a fresh served index: the old one keeps a version it refused for the old model
        self.served = ServedIndex(self.settings.index_root, self._open_version, self._snapshot)
        self.pages = VersionedLRU(self.settings.search.page_cache_size)
        self.searcher = self._searcher()
        self.job = self.candidate_index_job()

    def _open_version(self, path: Path) -> IndexVersion:
        s = self.settings.index
        try:
            return load_version(path, model_fingerprint=self.embedder.fingerprint,
                                dimension=self.embedder.dimension, ef_search=s.hnsw_ef_search,
                                nprobe=s.ivf_nprobe)
        except IndexMismatch as exc:
            swapped = self.settings.learning.learned_models and \
                active_models(self.settings.data_dir) != self.learned
            if swapped:
                # another process swapped learned models in (or rolled them back) and published an
                # index built with them: keep serving the version this process's model fits
                raise IndexNotReady(f"{exc} Learned models changed in another process; this one serves "
                                    "its current models until it restarts.") from exc
            raise

    def _snapshot(self, version: IndexVersion) -> Snapshot:
        def artifacts() -> dict[int, Artifact]:
            return {r.row_id: r.artifact for r in self.stores.catalog.artifact_page(10**9, 0)[0]}

        return Snapshot(version, Facets(self.stores.catalog.capability_facets()), artifacts)

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
        self.stores.close()

    def __enter__(self) -> Matchgraph:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ensure_ready(self, catalog_dir: Path | None = None, progress: Progress | None = None) -> None:
        """First start: ingest the bundled catalog if the store is empty, then run the index job
        (waiting for one another process runs), which builds only what is missing or stale."""
        if self.stores.catalog.sizes()[0] == 0:
            self.ingest([catalog_dir or self.settings.catalog_dir])
        self.job.run(wait=True, progress=progress)

    def refresh(self) -> None:
        """Serve the current index version from the next request on (a job just published one)."""
        self.served.refresh()

    def warm_up(self) -> None:
        """Make the first searches as quick as the rest: start the model thread (it plans its
        input shapes first) and run unrecorded searches, with and without a filter, so the
        index, the store's pages and the code paths are loaded before a client waits on them.
        Without an index there is nothing to warm and this returns quietly."""
        query = "warm up the search engine"
        load_graph_library()
        self.embedder.embed_soon(query).result()
        for filters in (SearchFilters(), SearchFilters(types=(ArtifactType.model,))):
            try:
                self.search(SearchRequest(query, filters, record=False))
            except IndexNotReady:
                return

    def health(self) -> Health:
        status = self.served.status
        name, count, model = None, 0, None
        if status != "no-index":
            version, _ = self.served.current()
            name, count, model = version.version, version.manifest.count, version.manifest.model
        database = "ok"
        try:
            counts = StoreCounts(*self.stores.catalog.sizes(), *self.stores.matchlog.sizes())
            self._last_counts = counts
        except StoreUnavailable:
            counts, database = self._last_counts, "unavailable"
        pending = self.recorder.pending if self.recorder else 0
        dropped = self.recorder.dropped if self.recorder else 0
        return Health(status, name, count, model, counts, pending, dropped, database)

    # -- catalog -----------------------------------------------------------------------
    def ingest(self, paths: Sequence[Path], skip_invalid: bool = False) -> IngestReport:
        return ingest_paths(self.stores.catalog, paths, skip_invalid)

    def ingest_manifests(
        self, manifests: Iterable[tuple[str, Any]], skip_invalid: bool = False
    ) -> IngestReport:
        """Manifests given as (record name, parsed JSON/YAML) pairs, e.g. the items of a request."""
        return ingest_records(self.stores.catalog, manifests, skip_invalid)

    def ingest_artifacts(self, artifacts: Sequence[Artifact]) -> IngestReport:
        """Artifacts already validated (importers, the evaluation's throwaway catalogs)."""
        return ingest_artifacts(self.stores.catalog, artifacts)

    def import_document(
        self, source: str, text: str, skip_invalid: bool = True, origin: str | None = None
    ) -> ImportReport:
        """Convert one public catalog document (``engine.catalog.importers``) and ingest it."""
        return run_import(source, text, self.stores.catalog, skip_invalid, origin=origin)

    def import_shared(self, directory: Path, skip_invalid: bool = True) -> tuple[IngestReport, SharedImport]:
        """The large catalog: the hand-written catalog (``catalog_dir``) ingested, then every
        shared document of ``directory`` imported on top of it without replacing what it describes."""
        batch = load_manifests([self.settings.catalog_dir])
        bundled = ingest_artifacts(self.stores.catalog, batch.artifacts, batch.problems)
        shared = run_import_all(directory, self.stores.catalog, batch.artifacts, skip_invalid)
        return bundled, shared

    def export(self, out: TextIO) -> int:
        return export_jsonl(self.stores.catalog, out)

    def get_artifact(self, slug: str) -> ArtifactRecord:
        return self.records.artifact(slug)

    def list_artifacts(self, limit: int, offset: int) -> tuple[list[ArtifactRecord], int]:
        return self.records.artifact_page(limit, offset)

    def get_capability(self, cap_id: str) -> CapabilityRecord:
        return self.records.capability(cap_id)

    # -- the index ---------------------------------------------------------------------
    def index(
        self, progress: Progress | None = None, on_wait: Callable[[str], None] | None = None
    ) -> IndexReport:
        """Build and publish a new version now, waiting for a job that is running (``on_wait``
        hears when the wait begins)."""
        return self.job.run(force=True, wait=True, progress=progress, on_wait=on_wait)

    def reindex(self, progress: Progress | None = None, force: bool = False) -> IndexReport:
        """The scheduled job: build only what changed; ``JobRunning`` while another job runs."""
        return self.job.run(force=force, progress=progress)

    def follow_shared_index(self) -> str | None:
        """With pgvector: switch to the index version another replica published, if any."""
        return self.job.follow()

    def index_runs(self, limit: int = 20) -> list[ReindexRun]:
        return self.stores.admin.reindex_runs(limit)

    def describe_index(self) -> str:
        return self.job.describe()

    # -- search ------------------------------------------------------------------------
    def begin_search(self, request: SearchRequest) -> PendingSearch:
        return self.searcher.begin(request)

    def finish_search(self, pending: PendingSearch) -> SearchResult:
        return self.searcher.finish(pending)

    def search(self, request: SearchRequest) -> SearchResult:
        return self.searcher.search(request)

    def search_many(self, requests: Sequence[SearchRequest]) -> list[SearchResult]:
        return self.searcher.search_many(requests)

    def resolve(
        self, intent: str, type_: ArtifactType | None = None, limit: int = 5,
        client_id: str | None = None, source: str = "resolve",
    ) -> Resolution:
        filters = SearchFilters(types=(type_,) if type_ else ())
        # the confidence reads the second answer too, whatever ``limit`` asks to show
        result = self.search(SearchRequest(intent, filters, limit=max(2, limit), source=source,
                                           client_id=client_id))
        found = resolution(result, self.settings.search.resolve_min_confidence, self.searcher.model)
        return replace(found, alternatives=found.alternatives[: limit - 1 if found.best else limit])

    def feedback(
        self, search_id: str, artifact: str, capability: str | None, outcome: Outcome,
        client_id: str | None = None,
    ) -> bool:
        self.flush_matches()  # the search may still be on its way to the database
        client = hash_client(self.client_salt, client_id)
        s = self.stores
        return record_feedback(s.catalog, s.matchlog, s.evidence, search_id, artifact, capability,
                               outcome, client)

    def flush_matches(self) -> None:
        """Wait until every search acknowledged so far is in the match log."""
        if self.recorder is not None:
            self.recorder.flush()

    # -- evidence ----------------------------------------------------------------------
    def content(self) -> ContentSpace:
        """Capability vectors and artifact centroids of the served index version."""
        return self.served.current()[1].content

    def rank(self, as_of: date | None = None) -> RankSummary:
        self.flush_matches()
        with self.stores.database.exclusive("rank"):  # replicas on one database take turns
            return run_rank(self.stores, self.records, self.content(), self.settings.ranking, as_of)

    def refresh_evidence(self) -> RankSummary | None:
        """Fold what was recorded since the last run into the graph and the scores, when
        anything was (a running server calls this every ``evidence_refresh_seconds``). Replicas
        sharing a database compute it once: the second to get the lock finds it fresh."""
        self.flush_matches()
        if not rank_is_stale(self.stores):
            return None
        with self.stores.database.exclusive("rank"):
            if not rank_is_stale(self.stores):
                return None
            return run_rank(self.stores, self.records, self.content(), self.settings.ranking, None)

    def score(self, artifact_id: int) -> ScoreRow | None:
        return self.evidence.score(artifact_id)

    def scores(self, artifact_ids: list[int]) -> dict[int, ScoreRow]:
        return self.evidence.scores(artifact_ids)

    def explain(self, slug: str) -> tuple[list[str], list[tuple[str, float]]]:
        return self.evidence.explain(slug)

    def neighbours(self, slug: str) -> tuple[ArtifactRecord, list[Neighbour]]:
        return self.evidence.neighbours(slug)

    def timeline(self, slug: str) -> list[tuple[str, int]]:
        return self.evidence.timeline(slug)

    def export_graph(self, path: Path, fmt: str) -> int:
        return self.evidence.export_graph(path, fmt)

    # -- recommendations ---------------------------------------------------------------
    def alternatives(self, slugs: list[str], limit: int = 5) -> list[Alternative]:
        return self.recommender.alternatives(slugs, limit)

    def suggested_searches(self, slugs: list[str], limit: int = 5) -> list[tuple[str, int]]:
        return self.recommender.suggested_searches(slugs, limit)

    def compare(self, slug_a: str, slug_b: str) -> Comparison:
        return self.recommender.compare(slug_a, slug_b)

    # -- API keys ----------------------------------------------------------------------
    def create_key(self, name: str, scopes: list[Scope]) -> IssuedKey:
        return create_key(self.stores.admin, name, scopes)

    def list_keys(self) -> list[ApiKeyRow]:
        return self.stores.admin.list_api_keys()

    def revoke_key(self, key_id: str) -> ApiKeyRow:
        return self.stores.admin.revoke_api_key(key_id)

    def take_token(self, bucket: str, per_minute: int) -> float | None:
        """A token from the rate-limit bucket every replica shares: 0.0 to go ahead, else seconds
        to wait; None when there is no shared bucket (SQLite, or the database is unreachable), and
        the caller limits in its own process."""
        if self.stores.rates is None:
            return None
        try:
            return self.stores.rates.take_token(bucket, per_minute)
        except MatchgraphError:
            return None

    def authenticate(self, presented: str) -> ApiKeyRow:
        return authenticate(self.stores.admin, presented)
