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
    score: float = Field(description="Fused score of the capability (reciprocal-rank fusion).")
    rank: int = Field(description="Rank of this capability among all fused candidates.")
    dense_score: float | None = Field(description="Cosine similarity, if the dense side found it.")
    lexical_score: float | None = Field(description="BM25 score, if the lexical side found it.")
    matched_terms: list[str] = Field(description="Query words found in the capability text.")


class Evidence(BaseModel):
    """Why the artifact was ranked where it is (the relevance model's inputs)."""

    cosine: float = Field(description="Best capability's cosine similarity to the need.")
    second_cosine: float = Field(description="Second-best capability's cosine (0 with one capability).")
    coverage: float = Field(description="Share of the need's informative words its best capability holds.")
    coverage_all: float = Field(description="… that its matched capabilities hold together.")
    named: bool = Field(description="The need names it (name, slug or alias).")
    kind_match: bool = Field(description="The need asks for a kind of artifact, and it is one.")


class SearchHit(BaseModel):
    rank: int
    score: float = Field(description="Probability (0–1) that the artifact serves the need.")
    artifact: ArtifactSummary
    matches: list[MatchedCapability]
    evidence: Evidence | None = None

    @classmethod
    def of(cls, hit: ArtifactHit) -> SearchHit:
        return cls(
            rank=hit.rank,
            score=hit.score,
            artifact=ArtifactSummary.of(hit.artifact),
            evidence=None if hit.evidence is None else Evidence(
                cosine=round(hit.evidence.cos1, 4), second_cosine=round(hit.evidence.cos2, 4),
                coverage=round(hit.evidence.cov1, 4), coverage_all=round(hit.evidence.cov_all, 4),
                named=hit.evidence.named, kind_match=hit.evidence.kind_match),
            matches=[
                MatchedCapability(
                    id=m.cap_id, key=m.key, name=m.name, description=m.description,
                    score=m.score, rank=m.rank, dense_score=m.dense_score,
                    lexical_score=m.lexical_score, matched_terms=m.matched_terms,
                )
                for m in hit.matches
            ],
        )


class NoMatch(BaseModel):
    reason: str
    nearest: list[SearchHit] = Field(
        description="The closest artifacts, which do NOT match: suggestions, not answers.")


class SearchPage(BaseModel):
    search_id: str
    query: str
    filters: dict[str, object]
    total: int = Field(description="Artifacts that clear the relevance floor (before paging).")
    limit: int
    offset: int
    index_version: str
    items: list[SearchHit]
    no_match: NoMatch | None = Field(
        None, description="Set when nothing in the catalog serves the need (then `items` is empty and "
        "the search was not recorded).")

    @classmethod
    def of(cls, result: SearchResult) -> SearchPage:
        no_match = None
        if result.no_match:
            no_match = NoMatch(reason="No artifact in the catalog serves this need well enough: none "
                               "cleared the relevance floor.",
                               nearest=[SearchHit.of(h) for h in result.nearest])
        return cls(
            search_id=result.search_id, query=result.query, filters=result.filters.as_dict(),
            total=result.total, limit=result.limit, offset=result.offset,
            index_version=result.index_version, items=[SearchHit.of(h) for h in result.hits],
            no_match=no_match,
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
    dropped_matches: int = Field(0, description="Searches not recorded: the database was unreachable "
                                 "and the writer's outage buffer full.")
    database: str = Field("ok", description="'ok', or 'unavailable' (PostgreSQL cannot be reached; "
                          "searches answer from what was loaded, counts are the last read).")


class ErrorBody(BaseModel):
    detail: str | list[dict[str, Any]] = Field(
        description="Why the request failed: a sentence, or FastAPI's list of field errors."
    )
