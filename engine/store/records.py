"""The store contract: what search, recording, the API and the CLI need from a catalog store.

SQLite implements it today; a PostgreSQL backend implements the same Protocol and is
chosen by name in settings, so nothing above the store changes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from matchgraph.engine.catalog.models import Artifact, Capability


@dataclass(frozen=True)
class IndexableCapability:
    row_id: int
    cap_id: str
    text: str
    content_hash: str


@dataclass(frozen=True)
class CapabilityFacet:
    """What filters and grouping need to know about one capability row."""

    row_id: int
    artifact_id: int
    type: str
    pricing_model: str
    free_tier: bool
    categories: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class CapabilityRecord:
    row_id: int
    cap_id: str
    artifact_id: int
    artifact_slug: str
    capability: Capability
    index_text: str
    times_matched: int  # distinct (client, normalised query, day)
    raw_matches: int


@dataclass(frozen=True)
class ArtifactRecord:
    """An artifact as stored. ``artifact`` may be shared with other readers: do not mutate it.

    ``times_matched`` counts distinct (client, normalised query, day) searches that returned
    the artifact, so one client repeating a query moves it by one a day; ``raw_matches``
    counts every such search.
    """

    row_id: int
    artifact: Artifact
    times_matched: int
    raw_matches: int = 0
    capability_times_matched: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class MatchRow:
    capability_row_id: int
    artifact_row_id: int
    rank: int  # the capability's rank among all fused candidates
    score: float
    artifact_rank: int  # the artifact's rank on the results page (1 = first)


@dataclass(frozen=True)
class SearchRecord:
    search_id: str
    query: str
    normalized_query: str
    created_at: datetime
    source: str
    client_hash: str | None
    filters: dict[str, object]
    result_count: int
    index_version: str | None
    matches: tuple[MatchRow, ...]


@dataclass
class UpsertReport:
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    capabilities_removed: int = 0


@dataclass(frozen=True)
class StoreCounts:
    artifacts: int
    capabilities: int
    searches: int
    matches: int


@dataclass(frozen=True)
class FeedbackRecord:
    search_id: str
    artifact_id: int
    capability_id: int | None
    outcome: str
    client_hash: str | None
    created_at: datetime


@dataclass(frozen=True)
class FeedbackTally:
    artifact_id: int
    capability_id: int  # 0: about the artifact as a whole
    positive: int
    negative: int


@dataclass(frozen=True)
class MatchUnitRow:
    """One artifact in the top results of one (client, normalised query, day) unit."""

    client: str
    query: str
    day: str
    artifact_id: int


@dataclass(frozen=True)
class QueryEdgeRow:
    query: str
    capability_id: int
    artifact_id: int
    searches: int  # raw
    units: int  # distinct (client, day)


@dataclass(frozen=True)
class EdgeRow:
    a: int  # a < b
    b: int
    kind: str  # substitute | complement
    co_searches: int
    jaccard: float
    npmi: float
    similarity: float


@dataclass(frozen=True)
class RankRun:
    computed_at: str
    as_of: str
    searches: int
    feedback: int
    catalog_hash: str
    settings: dict[str, object]
    id: int | None = None


@dataclass(frozen=True)
class ScoreRow:
    artifact_id: int
    score: float
    parts: dict[str, object]


@dataclass(frozen=True)
class ReindexRun:
    id: int
    started_at: str | None = None
    finished_at: str | None = None
    outcome: str = "running"  # running | ok | unchanged | failed | killed
    version: str | None = None
    capabilities: int | None = None
    embedded: int | None = None
    reused: int | None = None
    deleted: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class ApiKeyRow:
    key_id: str
    name: str
    secret_hash: str
    scopes: tuple[str, ...]
    created_at: str
    revoked_at: str | None = None


class EvidenceStore(Protocol):
    """Feedback, the match graph and scores (the graph + rank job's inputs and outputs)."""

    def search_results(self, search_id: str) -> dict[int, set[int]]: ...

    def add_feedback(self, record: FeedbackRecord) -> bool: ...

    def feedback_tallies(self) -> list[FeedbackTally]: ...

    def match_units(self, top_k: int) -> Iterator[MatchUnitRow]: ...

    def query_capability_counts(self) -> list[QueryEdgeRow]: ...

    def evidence_counts(self) -> tuple[int, int]: ...

    def save_rank_run(
        self, run: RankRun, edges: Sequence[EdgeRow], query_edges: Sequence[QueryEdgeRow],
        scores: Sequence[ScoreRow],
    ) -> int: ...

    def last_rank_run(self) -> RankRun | None: ...

    def scores_for(self, artifact_ids: Sequence[int]) -> dict[int, ScoreRow]: ...

    def score_history(self, artifact_id: int, limit: int = 50) -> list[tuple[RankRun, ScoreRow]]: ...

    def neighbours(self, artifact_id: int) -> list[EdgeRow]: ...

    def all_edges(self) -> list[EdgeRow]: ...

    def top_queries(self, artifact_ids: Sequence[int], limit: int = 5) -> list[tuple[str, int]]: ...

    def match_timeline(self, artifact_id: int) -> list[tuple[str, int]]:
        """(day, distinct units) on which searches returned the artifact, oldest first."""
        ...


class Store(EvidenceStore, Protocol):
    def upsert_artifacts(self, artifacts: Sequence[Artifact]) -> UpsertReport:
        """Insert or update artifacts by slug in one transaction (all or nothing)."""
        ...

    def get_artifact(self, slug: str) -> ArtifactRecord: ...

    def list_artifacts(self, limit: int, offset: int) -> tuple[list[ArtifactRecord], int]: ...

    def get_capability(self, cap_id: str) -> CapabilityRecord: ...

    def capabilities_by_row(
        self, row_ids: Sequence[int], *, with_counts: bool = True
    ) -> dict[int, CapabilityRecord]:
        """Capabilities by row id; without counts their times matched read 0 (a search page
        shows artifacts' counts only, and skips that lookup)."""
        ...

    def artifacts_by_row(self, row_ids: Sequence[int]) -> dict[int, ArtifactRecord]: ...

    def artifact_rows(self) -> dict[int, str]: ...

    def indexable_capabilities(self) -> list[IndexableCapability]: ...

    def capability_facets(self) -> list[CapabilityFacet]: ...

    def iter_artifacts(self) -> Iterator[Artifact]: ...

    def catalog_hash(self) -> str: ...

    def record_searches(self, records: Sequence[SearchRecord]) -> None:
        """Write searches and their matches in one transaction."""
        ...

    def add_api_key(self, key_id: str, name: str, secret_hash: str, scopes: list[str]) -> ApiKeyRow: ...

    def get_api_key(self, key_id: str) -> ApiKeyRow: ...

    def list_api_keys(self) -> list[ApiKeyRow]: ...

    def revoke_api_key(self, key_id: str) -> ApiKeyRow: ...

    def start_reindex_run(self) -> int: ...

    def finish_reindex_run(self, run: ReindexRun) -> None: ...

    def abandon_running_runs(self, note: str) -> int: ...

    def reindex_runs(self, limit: int = 20) -> list[ReindexRun]: ...

    def counts(self) -> StoreCounts: ...

    def close(self) -> None: ...
