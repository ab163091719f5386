"""Hybrid search: dense + BM25 candidates, fused, filtered, grouped by artifact, explained.

``search_many`` is the primitive (queries are embedded in one batch); ``search`` is
``search_many([request])[0]``; a server uses ``begin`` and ``finish`` to wait for the model
without holding a thread. Every answered search is handed to the match recorder.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from matchgraph.engine.errors import InvalidQuery
from matchgraph.engine.search.filters import SearchFilters
from matchgraph.engine.search.page_cache import VersionedLRU
from matchgraph.engine.search.query import clean_query, model_text, normalize_query
from matchgraph.engine.search.ranking import (
    RankedArtifact,
    Ranking,
    RankSettings,
    candidates,
    rank_artifacts,
    term_match,
)
from matchgraph.engine.search.recorder import MatchRecorder
from matchgraph.engine.search.relevance import ArtifactEvidence, RelevanceModel
from matchgraph.engine.search.snapshot import Snapshot
from matchgraph.engine.settings import SearchSettings
from matchgraph.engine.store.reading import RecordReader
from matchgraph.engine.store.records import ArtifactRecord, MatchRow, SearchRecord
from matchgraph.index.embedding.embedder import Embedder
from matchgraph.index.lexical import QueryTerms
from matchgraph.index.versions import IndexVersion

MAX_LIMIT = 50
MAX_OFFSET = 1000


def hash_client(salt: str, client_id: str | None) -> str | None:
    """A salted hash stands in for a client everywhere; the raw id is never stored."""
    if not client_id:
        return None
    return hashlib.sha256(f"{salt}:{client_id}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class SearchRequest:
    query: str
    filters: SearchFilters = SearchFilters()
    limit: int = 10
    offset: int = 0
    source: str = "api"
    client_id: str | None = None
    record: bool = True


@dataclass(frozen=True)
class CapabilityMatch:
    row_id: int
    cap_id: str
    key: str
    name: str
    description: str
    score: float
    rank: int
    dense_score: float | None
    lexical_score: float | None
    matched_terms: list[str]


@dataclass(frozen=True)
class ArtifactHit:
    rank: int
    score: float  # the probability that it serves the need (see engine.search.relevance)
    artifact: ArtifactRecord
    matches: list[CapabilityMatch]
    evidence: ArtifactEvidence | None = None


@dataclass
class SearchResult:
    search_id: str
    query: str
    normalized_query: str
    filters: SearchFilters
    total: int
    limit: int
    offset: int
    hits: list[ArtifactHit]
    index_version: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    nearest: list[ArtifactHit] = field(default_factory=list)  # when nothing fits: the closest

    @property
    def no_match(self) -> bool:
        """Nothing in the catalog clears the relevance floor for this need."""
        return self.total == 0


# What a page cache keeps of a search: its ranking (not the records, which are read fresh).
Ranked = Ranking


@dataclass(frozen=True)
class PendingSearch:
    """A search whose query is checked and whose vector is on its way (see ``Searcher.begin``)."""

    request: SearchRequest
    query: str  # cleaned
    vector: Future[np.ndarray]


class Searcher:
    def __init__(
        self,
        settings: SearchSettings,
        records: RecordReader,
        embedder: Callable[[], Embedder],
        served: Callable[[], tuple[IndexVersion, Snapshot]],
        recorder: MatchRecorder | None,
        pages: VersionedLRU[Ranked],
        client_salt: str,
        model: RelevanceModel,
        max_limit: int = MAX_LIMIT,
    ):
        """``embedder`` gives the (lazily loaded) model; ``served`` the index version to answer
        with and its snapshot; ``pages`` keeps rankings between searches (see
        ``engine.search.page_cache``)."""
        self.settings = settings
        self.records = records
        self._embedder = embedder
        self._served = served
        self.recorder = recorder
        self.pages = pages  # (query, filters, offset, limit) -> the ranked page
        self.client_salt = client_salt
        self.model = model
        self.max_limit = max_limit
        self.rank_settings = RankSettings(settings.fusion, settings.rrf_k, settings.dense_weight,
                                          settings.lexical_weight, settings.capabilities_per_hit,
                                          model.floor if settings.relevance_floor is None
                                          else settings.relevance_floor)

    def _check(self, request: SearchRequest) -> str:
        """The request's query, cleaned; ``InvalidQuery`` when it or its page cannot be served."""
        s = self.settings
        if not 1 <= request.limit <= self.max_limit:
            raise InvalidQuery(f"limit must be between 1 and {self.max_limit}")
        if not 0 <= request.offset <= MAX_OFFSET:
            raise InvalidQuery(f"offset must be between 0 and {MAX_OFFSET}")
        return clean_query(request.query, s.query_min_chars, s.query_max_chars)

    def begin(self, request: SearchRequest) -> PendingSearch:
        """Check the request and start on its vector: at once when cached, else on the model
        thread (``Embedder.embed_soon``), so a server can wait for the one slow step without
        holding a thread and run the rest (``finish``) where it likes."""
        query = self._check(request)
        return PendingSearch(request, query, self._embedder().embed_soon(model_text(query)))

    def finish(self, pending: PendingSearch) -> SearchResult:
        version, snapshot = self._served()
        return self._search_one(pending.request, pending.query, pending.vector.result(), version, snapshot)

    def search(self, request: SearchRequest) -> SearchResult:
        return self.search_many([request])[0]

    def search_many(self, requests: Sequence[SearchRequest]) -> list[SearchResult]:
        """Several searches, their queries embedded in one batch."""
        cleaned = [self._check(r) for r in requests]
        version, snapshot = self._served()  # one whole version for the whole request
        t0 = time.perf_counter()
        vectors = self._embedder().encode_queries([model_text(q) for q in cleaned])
        embed_ms = (time.perf_counter() - t0) * 1000 / max(1, len(requests))
        results = []
        for request, query, vector in zip(requests, cleaned, vectors):
            result = self._search_one(request, query, vector, version, snapshot)
            result.timings_ms = {"embed": embed_ms, **result.timings_ms}
            results.append(result)
        return results

    def _rank(
        self, request: SearchRequest, query: str, vector: np.ndarray, version: IndexVersion,
        snapshot: Snapshot, timings: dict[str, float],
    ) -> Ranking:
        """The artifacts that serve the need (and the requested page of them), best first."""
        t = time.perf_counter()
        facets = snapshot.facets
        reading = snapshot.reader.read(query)
        mask = None if request.filters.empty else facets.mask(version.version, version.ids, request.filters)
        depth = max(self.settings.candidates, (request.offset + request.limit) * 4)
        match = term_match(version, query, reading)
        found = candidates(query, vector, reading, match, version, facets, mask, depth, self.rank_settings)
        timings["retrieve"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        ranking = rank_artifacts(found, reading, match, version, facets, self.model, self.rank_settings,
                                 request.offset, request.limit)
        timings["rank"] = (time.perf_counter() - t) * 1000
        return ranking

    def _search_one(
        self, request: SearchRequest, query: str, vector: np.ndarray, version: IndexVersion,
        snapshot: Snapshot,
    ) -> SearchResult:
        timings: dict[str, float] = {}
        key = (query, request.filters, request.offset, request.limit)
        # A ranking holds for one served snapshot; every version the service serves (a fallback
        # to an older one included) comes with a snapshot of its own.
        ranking = self.pages.get(snapshot, key)
        if ranking is None:
            ranking = self._rank(request, query, vector, version, snapshot, timings)
            self.pages.put(snapshot, key, ranking)
        t = time.perf_counter()
        hits = self._hits(query, ranking.page, request.offset + 1)
        nearest = self._hits(query, ranking.nearest, 1)
        timings["records"] = (time.perf_counter() - t) * 1000
        result = SearchResult(
            search_id=uuid.uuid4().hex,
            query=query,
            normalized_query=normalize_query(query),
            filters=request.filters,
            total=ranking.total,
            limit=request.limit,
            offset=request.offset,
            hits=hits,
            index_version=version.version,
            timings_ms=timings,
            nearest=nearest,
        )
        # A search that found nothing fitting is evidence of nothing: it is not recorded.
        if request.record and self.recorder is not None and hits:
            self.recorder.submit(self._record(result, request))
        return result

    def _hits(self, query: str, shown: Sequence[RankedArtifact], first_rank: int) -> list[ArtifactHit]:
        artifacts = self.records.artifacts_by_row([r.artifact_id for r in shown])
        cap_records = self.records.capabilities_by_row(
            [c.row_id for r in shown for c in r.capabilities], with_counts=False
        )
        terms = QueryTerms(query)
        hits: list[ArtifactHit] = []
        for rank, ranked in enumerate(shown, start=first_rank):
            aid, cands = ranked.artifact_id, ranked.capabilities
            if aid not in artifacts:
                continue
            matches = [
                CapabilityMatch(
                    row_id=c.row_id,
                    cap_id=rec.cap_id,
                    key=rec.capability.key,
                    name=rec.capability.name,
                    description=rec.capability.description,
                    score=round(c.score, 6),
                    rank=c.rank,
                    dense_score=c.dense,
                    lexical_score=c.lexical,
                    matched_terms=terms.found_in(rec.index_text),
                )
                for c in cands
                if (rec := cap_records.get(c.row_id)) is not None
            ]
            hits.append(ArtifactHit(rank, ranked.relevance, artifacts[aid], matches, ranked.evidence))
        return hits

    def _record(self, result: SearchResult, request: SearchRequest) -> SearchRecord:
        client_hash = hash_client(self.client_salt, request.client_id)
        return SearchRecord(
            search_id=result.search_id,
            query=result.query,
            normalized_query=result.normalized_query,
            created_at=datetime.now(UTC),
            source=request.source,
            client_hash=client_hash,
            filters=result.filters.as_dict(),
            result_count=len(result.hits),
            index_version=result.index_version,
            matches=tuple(
                MatchRow(m.row_id, hit.artifact.row_id, m.rank, m.score, hit.rank)
                for hit in result.hits
                for m in hit.matches
            ),
        )
