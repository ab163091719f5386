"""The plain records the stores read and write (no behaviour, no database types)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
class StoredArtifact:
    """An artifact as the catalog holds it. ``artifact`` may be shared with other readers:
    do not mutate it."""

    row_id: int
    artifact: Artifact


@dataclass(frozen=True)
class StoredCapability:
    row_id: int
    cap_id: str
    artifact_id: int
    artifact_slug: str
    capability: Capability
    index_text: str


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
class ShownMatch:
    """One capability a recorded search showed."""

    artifact_id: int
    capability_id: int
    rank: int  # the capability's place among the search's candidates
    artifact_rank: int  # its artifact's place in the results, from 1


@dataclass(frozen=True)
class Selection:
    """A verified client's positive word on one hit of one search (``EvidenceStore.selections``)."""

    search_id: str
    client_hash: str
    query: str
    artifact_id: int
    capability_id: int | None  # the capability named in the feedback, when one was
    shown: tuple[ShownMatch, ...]  # what the search showed, best first


@dataclass(frozen=True)
class FeedbackTally:
    artifact_id: int
    capability_id: int  # 0: about the artifact as a whole
    positive: int
    negative: int


@dataclass(frozen=True)
class GraphCounts:
    """The match graph's counters: units, the units each artifact is in the top results of,
    and the units each pair shares (``a < b``)."""

    units: int
    appearances: dict[int, int]
    pairs: dict[tuple[int, int], int]
    clients: dict[int, int] = field(default_factory=dict)  # distinct clients per artifact


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
    units: int  # distinct verified clients


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


def group_selections(feedback: Sequence[tuple[Any, ...]],
                     matches: Sequence[tuple[Any, ...]]) -> list[Selection]:
    """Selections from positive feedback rows ``(search_id, client, query, artifact_id,
    capability_id)``, oldest first, and the matches ``(search_id, artifact_id, capability_id,
    rank, artifact_rank)`` their searches showed, best first: one per client and search (its
    first positive word). Both stores read the rows; this is what they mean."""
    first: dict[tuple[str, str], tuple[str, int, int]] = {}
    for search_id, client, query, artifact_id, capability_id in feedback:
        first.setdefault((client, search_id), (query, int(artifact_id), int(capability_id)))
    shown: dict[str, list[ShownMatch]] = {}
    for search_id, artifact_id, capability_id, rank, artifact_rank in matches:
        shown.setdefault(search_id, []).append(
            ShownMatch(int(artifact_id), int(capability_id), int(rank), int(artifact_rank)))
    return [Selection(search_id, client, query, artifact_id, capability_id or None,
                      tuple(shown.get(search_id, ())))
            for (client, search_id), (query, artifact_id, capability_id) in first.items()]
