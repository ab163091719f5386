"""Search filters (type, pricing model, free tier, category, tag) and the per-capability
facts they are evaluated on, turned into boolean masks over an index version."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from matchgraph.engine.catalog.models import ArtifactType, PricingModel
from matchgraph.engine.store.records import CapabilityFacet


@dataclass(frozen=True)
class SearchFilters:
    types: tuple[ArtifactType, ...] = ()
    pricing: tuple[PricingModel, ...] = ()
    free: bool | None = None
    category: str | None = None
    tag: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.types or self.pricing or self.free is not None or self.category or self.tag)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.types:
            out["type"] = [t.value for t in self.types]
        if self.pricing:
            out["pricing"] = [p.value for p in self.pricing]
        if self.free is not None:
            out["free"] = self.free
        if self.category:
            out["category"] = self.category
        if self.tag:
            out["tag"] = self.tag
        return out

    def accepts(self, facet: CapabilityFacet) -> bool:
        if self.types and facet.type not in {t.value for t in self.types}:
            return False
        if self.pricing and facet.pricing_model not in {p.value for p in self.pricing}:
            return False
        if self.free is not None and facet.free_tier != self.free:
            return False
        if self.category and self.category.lower() not in facet.categories:
            return False
        return not (self.tag and self.tag.lower() not in facet.tags)


class Facets:
    """Artifact facts per capability row, loaded once per catalog snapshot."""

    def __init__(self, facets: Sequence[CapabilityFacet]):
        self.by_row = {f.row_id: f for f in facets}
        self.rows_by_artifact: dict[int, list[int]] = {}
        for f in facets:
            self.rows_by_artifact.setdefault(f.artifact_id, []).append(f.row_id)
        self._masks: dict[tuple[str, SearchFilters], np.ndarray] = {}

    def artifact_of(self, row_id: int) -> int | None:
        facet = self.by_row.get(row_id)
        return facet.artifact_id if facet else None

    def rows_of(self, artifact_ids: Iterable[int]) -> list[int]:
        """The capability rows of these artifacts."""
        return [r for a in artifact_ids for r in self.rows_by_artifact.get(a, ())]

    def mask(self, version: str, ids: np.ndarray, filters: SearchFilters) -> np.ndarray:
        """Which positions of an index version pass ``filters`` (and still exist)."""
        key = (version, filters)
        mask = self._masks.get(key)
        if mask is None:
            mask = np.fromiter(
                (
                    (f := self.by_row.get(int(r))) is not None and filters.accepts(f)
                    for r in ids
                ),
                dtype=bool,
                count=len(ids),
            )
            if len(self._masks) > 256:
                self._masks.clear()
            self._masks[key] = mask
        return mask
