"""Response models of the HTTP API, separate from the domain models they are built from."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from matchgraph.engine.catalog.models import Adoption, ArtifactType, Capability, Pricing, PricingModel
from matchgraph.engine.search.searcher import ArtifactHit, SearchResult
from matchgraph.engine.store.records import ArtifactRecord, CapabilityRecord


class ArtifactSummary(BaseModel):
    slug: str
    name: str
    type: ArtifactType
    maintainer: str | None
    summary: str | None
    pricing_model: PricingModel
    free_tier: bool
    categories: list[str]
    tags: list[str]
    capability_count: int
    times_matched: int = Field(description="Distinct (client, query, day) searches that returned it.")
    raw_matches: int = Field(description="Every search that returned it.")

    @classmethod
    def of(cls, record: ArtifactRecord) -> ArtifactSummary:
        a = record.artifact
        return cls(
            slug=a.slug, name=a.name, type=a.type, maintainer=a.maintainer, summary=a.summary,
            pricing_model=a.pricing.model, free_tier=a.pricing.free_tier,
            categories=a.categories, tags=a.tags, capability_count=len(a.capabilities),
            times_matched=record.times_matched, raw_matches=record.raw_matches,
        )


class MatchedCapability(BaseModel):
    id: str = Field(description="Stable capability id, `slug/key`.")
    key: str
    name: str
    description: str
    score: float = Field(description="Fused score (reciprocal-rank fusion).")
    rank: int = Field(description="Rank of this capability among all fused candidates.")
    dense_score: float | None = Field(description="Cosine similarity, if the dense side found it.")
    lexical_score: float | None = Field(description="BM25 score, if the lexical side found it.")
    matched_terms: list[str] = Field(description="Query words found in the capability text.")


class SearchHit(BaseModel):
    rank: int
    score: float
    artifact: ArtifactSummary
    matches: list[MatchedCapability]

    @classmethod
    def of(cls, hit: ArtifactHit) -> SearchHit:
        return cls(
            rank=hit.rank,
            score=hit.score,
            artifact=ArtifactSummary.of(hit.artifact),
            matches=[
                MatchedCapability(
                    id=m.cap_id, key=m.key, name=m.name, description=m.description,
                    score=m.score, rank=m.rank, dense_score=m.dense_score,
                    lexical_score=m.lexical_score, matched_terms=m.matched_terms,
                )
                for m in hit.matches
            ],
        )


class SearchPage(BaseModel):
    search_id: str
    query: str
    filters: dict[str, object]
    total: int = Field(description="Artifacts among the fused candidates (before paging).")
    limit: int
    offset: int
    index_version: str
    items: list[SearchHit]

    @classmethod
    def of(cls, result: SearchResult) -> SearchPage:
        return cls(
            search_id=result.search_id, query=result.query, filters=result.filters.as_dict(),
            total=result.total, limit=result.limit, offset=result.offset,
            index_version=result.index_version, items=[SearchHit.of(h) for h in result.hits],
        )


class ArtifactPage(BaseModel):
    items: list[ArtifactSummary]
    total: int
    limit: int
    offset: int


class CapabilityDetail(Capability):
    id: str
    artifact: str
    times_matched: int
    raw_matches: int

    @classmethod
    def of(cls, record: CapabilityRecord) -> CapabilityDetail:
        return cls(
            **record.capability.model_dump(), id=record.cap_id, artifact=record.artifact_slug,
            times_matched=record.times_matched, raw_matches=record.raw_matches,
        )


class CapabilityWithCount(Capability):
    id: str
    times_matched: int


class ArtifactDetail(BaseModel):
    slug: str
    name: str
    type: ArtifactType
    maintainer: str | None
    summary: str | None
    homepage: str | None
    repository: str | None
    docs: str | None
    license: str | None
    pricing: Pricing
    adoption: Adoption
    categories: list[str]
    tags: list[str]
    updated_at: str | None
    times_matched: int
    raw_matches: int
    capabilities: list[CapabilityWithCount]

    @classmethod
    def of(cls, record: ArtifactRecord) -> ArtifactDetail:
        a = record.artifact
        body = a.model_dump(exclude={"capabilities", "updated_at"})
        caps = [
            CapabilityWithCount(
                **c.model_dump(), id=a.capability_id(c),
                times_matched=record.capability_times_matched.get(a.capability_id(c), 0),
            )
            for c in a.capabilities
        ]
        return cls(
            **body, updated_at=a.updated_at.isoformat() if a.updated_at else None,
            times_matched=record.times_matched, raw_matches=record.raw_matches, capabilities=caps,
        )


class HealthReport(BaseModel):
    status: str
    index_version: str | None
    indexed_capabilities: int
    model: str | None
    artifacts: int
    capabilities: int
    searches: int
    matches: int
    pending_matches: int


class ErrorBody(BaseModel):
    detail: str | list[dict[str, Any]] = Field(
        description="Why the request failed: a sentence, or FastAPI's list of field errors."
    )
