"""The store contracts, one small Protocol per concern, and the bundle that holds all four.

- ``CatalogStore``: artifacts and their capabilities (what ingest writes, search reads).
- ``MatchLog``: recorded searches and the capabilities they returned, with the live
  times-matched counters.
- ``EvidenceStore``: feedback, the match graph, scores and their history.
- ``AdminStore``: API keys and the index job's runs.

A backend implements all four over one shared database handle and is chosen by name
(``open_stores``); the contract test suites in ``tests/store_contract`` run against every
backend, so a new one proves itself by adding one fixture parameter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from matchgraph.engine.catalog.ingest import UpsertReport
from matchgraph.engine.catalog.models import Artifact
from matchgraph.engine.store.records import (
    ApiKeyRow,
    CapabilityFacet,
    EdgeRow,
    FeedbackRecord,
    FeedbackTally,
    GraphCounts,
    IndexableCapability,
    MatchUnitRow,
    QueryEdgeRow,
    RankRun,
    ReindexRun,
    ScoreRow,
    SearchRecord,
    Selection,
    StoredArtifact,
    StoredCapability,
)


class CatalogStore(Protocol):
    def upsert_artifacts(self, artifacts: Sequence[Artifact]) -> UpsertReport:
        """Insert or update artifacts by slug in one transaction (all or nothing)."""
        ...

    def artifact(self, slug: str) -> StoredArtifact:
        """The artifact with this slug; ``NotFound`` if there is none."""
        ...

    def artifact_page(self, limit: int, offset: int) -> tuple[list[StoredArtifact], int]:
        """A page of artifacts in slug order, and how many there are."""
        ...

    def artifacts_by_row(self, row_ids: Sequence[int]) -> dict[int, StoredArtifact]: ...

    def capability(self, cap_id: str) -> StoredCapability:
        """The capability ``slug/key``; ``NotFound`` if there is none."""
        ...

    def capabilities_by_row(self, row_ids: Sequence[int]) -> dict[int, StoredCapability]: ...

    def capability_ids_of(self, artifact_id: int) -> dict[int, str]:
        """Row id -> ``slug/key`` of every capability of one artifact."""
        ...

    def indexable_capabilities(self) -> list[IndexableCapability]: ...

    def capability_facets(self) -> list[CapabilityFacet]: ...

    def iter_artifacts(self) -> Iterator[Artifact]: ...

    def catalog_hash(self) -> str: ...

    def sizes(self) -> tuple[int, int]:
        """(artifacts, capabilities)."""
        ...


class MatchLog(Protocol):
    def record_searches(self, records: Sequence[SearchRecord]) -> None:
        """Write searches, their matches and the counters they move, in one transaction."""
        ...

    def search_results(self, search_id: str) -> dict[int, set[int]]:
        """Artifact row id -> capability row ids a recorded search returned; ``NotFound`` if
        no such search was recorded."""
        ...

    def match_counts(self, kind: int, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """(units, raw) per artifact (kind 0) or capability (kind 1) row id, for those with any."""
        ...

    def match_units(self, top_k: int) -> Iterator[MatchUnitRow]:
        """(client, normalised query, day) units and the artifacts in their top ``top_k``."""
        ...

    def query_capability_counts(self) -> list[QueryEdgeRow]:
        """Per (normalised query, capability): searches and distinct verified clients, as of the
        last ``fold_evidence``."""
        ...

    def fold_evidence(self, top_k: int) -> GraphCounts:
        """Fold matches recorded since the last call into the graph and query counters (cost
        follows the new rows) and return the graph's counters."""
        ...

    def match_timeline(self, artifact_id: int) -> list[tuple[str, int]]:
        """(day, distinct units) on which searches returned the artifact, oldest first."""
        ...

    def sizes(self) -> tuple[int, int]:
        """(searches, matches)."""
        ...


class EvidenceStore(Protocol):
    def add_feedback(self, record: FeedbackRecord) -> bool: ...

    def feedback_tallies(self) -> list[FeedbackTally]: ...

    def feedback_count(self) -> int: ...

    def selections(self) -> list[Selection]:
        """Positive feedback from verified clients, once per client and search, with what it showed."""
        ...

    def save_rank_run(
        self, run: RankRun, edges: Sequence[EdgeRow], query_edges: Sequence[QueryEdgeRow],
        scores: Sequence[ScoreRow],
    ) -> int: ...

    def last_rank_run(self) -> RankRun | None: ...

    def scores_for(self, artifact_ids: Sequence[int]) -> dict[int, ScoreRow]: ...

    def score_history(self, artifact_id: int, limit: int = 50) -> list[tuple[RankRun, ScoreRow]]: ...

    def neighbours(self, artifact_id: int) -> list[EdgeRow]: ...

    def all_edges(self) -> list[EdgeRow]: ...

    def top_queries(self, artifact_ids: Sequence[int], limit: int = 5, min_clients: int = 1
                    ) -> list[tuple[str, int]]: ...


class AdminStore(Protocol):
    def add_api_key(self, key_id: str, name: str, secret_hash: str, scopes: list[str]) -> ApiKeyRow: ...

    def get_api_key(self, key_id: str) -> ApiKeyRow: ...

    def list_api_keys(self) -> list[ApiKeyRow]: ...

    def revoke_api_key(self, key_id: str) -> ApiKeyRow: ...

    def start_reindex_run(self) -> int: ...

    def finish_reindex_run(self, run: ReindexRun) -> None: ...

    def abandon_running_runs(self, note: str) -> int: ...

    def reindex_runs(self, limit: int = 20) -> list[ReindexRun]: ...


class SharedRateLimits(Protocol):
    def take_token(self, bucket: str, per_minute: int) -> float:
        """Take a token from a bucket every process shares; 0.0 to go ahead, else seconds to wait."""
        ...


class Database(Protocol):
    def close(self) -> None:
        """Release what the calling thread holds (connections are per thread)."""
        ...

    def shutdown(self) -> None:
        """Release everything (the process is done with the stores)."""
        ...

    def exclusive(self, name: str) -> AbstractContextManager[None]:
        """Held by one process at a time among all that share this database (waits for it)."""
        ...


@dataclass(frozen=True)
class Stores:
    """The four stores of one backend over one shared database handle."""

    catalog: CatalogStore
    matchlog: MatchLog
    evidence: EvidenceStore
    admin: AdminStore
    database: Database
    rates: SharedRateLimits | None = None  # None: each process keeps its own buckets (SQLite)

    def close(self) -> None:
        self.database.shutdown()
