"""Catalog records with their times matched: the catalog store's artifacts and capabilities,
joined with the match log's live counters (one lookup per id list, however long the log)."""

from __future__ import annotations

from collections.abc import Sequence

from matchgraph.engine.store.contracts import CatalogStore, MatchLog
from matchgraph.engine.store.records import ArtifactRecord, CapabilityRecord, StoredArtifact, StoredCapability

ARTIFACT, CAPABILITY = 0, 1


class RecordReader:
    def __init__(self, catalog: CatalogStore, matchlog: MatchLog):
        self.catalog = catalog
        self.matchlog = matchlog

    def _artifacts(self, stored: Sequence[StoredArtifact]) -> list[ArtifactRecord]:
        counts = self.matchlog.match_counts(ARTIFACT, [s.row_id for s in stored])
        return [ArtifactRecord(s.row_id, s.artifact, *counts.get(s.row_id, (0, 0))) for s in stored]

    def artifact(self, slug: str) -> ArtifactRecord:
        """One artifact with its times matched and each capability's."""
        stored = self.catalog.artifact(slug)
        record = self._artifacts([stored])[0]
        caps = self.catalog.capability_ids_of(stored.row_id)
        counts = self.matchlog.match_counts(CAPABILITY, list(caps))
        per_cap = {cap_id: counts.get(row_id, (0, 0))[0] for row_id, cap_id in caps.items()}
        return ArtifactRecord(record.row_id, record.artifact, record.times_matched, record.raw_matches,
                              per_cap)

    def artifact_page(self, limit: int, offset: int) -> tuple[list[ArtifactRecord], int]:
        stored, total = self.catalog.artifact_page(limit, offset)
        return self._artifacts(stored), total

    def artifacts_by_row(self, row_ids: Sequence[int]) -> dict[int, ArtifactRecord]:
        stored = self.catalog.artifacts_by_row(row_ids)
        return {r.row_id: r for r in self._artifacts(list(stored.values()))}

    def all_artifacts(self) -> list[ArtifactRecord]:
        records, _ = self.artifact_page(limit=10**9, offset=0)
        return records

    def _capabilities(self, stored: Sequence[StoredCapability], with_counts: bool) -> list[CapabilityRecord]:
        counts = self.matchlog.match_counts(CAPABILITY, [s.row_id for s in stored]) if with_counts else {}
        return [CapabilityRecord(s.row_id, s.cap_id, s.artifact_id, s.artifact_slug, s.capability,
                                 s.index_text, *counts.get(s.row_id, (0, 0))) for s in stored]

    def capability(self, cap_id: str) -> CapabilityRecord:
        return self._capabilities([self.catalog.capability(cap_id)], True)[0]

    def capabilities_by_row(
        self, row_ids: Sequence[int], *, with_counts: bool = True
    ) -> dict[int, CapabilityRecord]:
        """Capabilities by row id; without counts their times matched read 0 (a search page
        shows artifacts' counts only, and skips that lookup)."""
        stored = self.catalog.capabilities_by_row(row_ids)
        return {r.row_id: r for r in self._capabilities(list(stored.values()), with_counts)}
