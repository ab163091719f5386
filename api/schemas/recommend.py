"""Request and response models of the recommendation routes: scores, comparisons,
alternatives, the match graph, resolve and feedback."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from matchgraph.api.schemas.search import ArtifactSummary, SearchHit
from matchgraph.engine.catalog.models import ArtifactType, Capability
from matchgraph.engine.recommend.compare import Comparison, Side
from matchgraph.engine.recommend.resolve import Outcome, Resolution
from matchgraph.engine.recommend.suggest import Alternative, Suggestion
from matchgraph.engine.store.records import ArtifactRecord, EdgeRow, ScoreRow


class PartOut(BaseModel):
    value: float = Field(description="0–1.")
    n: int = Field(description="How much evidence the part rests on.")
    low: float
    high: float
    note: str
    inputs: dict[str, object]
    known: bool = Field(True, description="False: no data for this part; it is shown as unknown and its "
                        "weight is spread over the known parts.")


class ScoreOut(BaseModel):
    score: float = Field(description="0–100.")
    parts: dict[str, PartOut]

    @classmethod
    def of(cls, row: ScoreRow | None) -> ScoreOut | None:
        if row is None:
            return None
        return cls(score=row.score, parts={k: PartOut.model_validate(v) for k, v in row.parts.items()})


class ScoreHistoryOut(BaseModel):
    slug: str
    score: ScoreOut | None
    history: list[tuple[str, float]] = Field(description="(as_of, score), oldest first.")
    explanation: list[str] = Field(description="What moved the score since the previous run.")


class CapabilityOut(Capability):
    id: str


class CompareSide(BaseModel):
    artifact: ArtifactSummary
    score: ScoreOut | None
    capabilities: list[CapabilityOut]

    @classmethod
    def of(cls, side: Side) -> CompareSide:
        a = side.artifact
        return cls(
            artifact=ArtifactSummary.of(side.record), score=ScoreOut.of(side.score),
            capabilities=[CapabilityOut(**c.model_dump(), id=a.capability_id(c)) for c in a.capabilities],
        )


class TableRow(BaseModel):
    label: str
    a: str
    b: str


class AlignedPair(BaseModel):
    a: str
    b: str
    similarity: float


class AlternativeOut(BaseModel):
    artifact: ArtifactSummary
    reason: str
    relevance: float
    similarity: float
    co_searches: int

    @classmethod
    def of(cls, suggestion: Suggestion, record: ArtifactRecord) -> AlternativeOut:
        return cls(artifact=ArtifactSummary.of(record), reason=suggestion.reason,
                   relevance=suggestion.relevance, similarity=suggestion.similarity,
                   co_searches=suggestion.co_searches)


class SuggestedSearch(BaseModel):
    query: str
    count: int


class ComparisonOut(BaseModel):
    title: str
    summary: str
    a: CompareSide
    b: CompareSide
    table: list[TableRow]
    aligned: list[AlignedPair]
    only_a: list[str]
    only_b: list[str]
    verdict: str
    alternatives: list[AlternativeOut]
    suggested_searches: list[SuggestedSearch]

    @classmethod
    def of(cls, c: Comparison) -> ComparisonOut:
        return cls(
            title=c.title, summary=c.summary,
            a=CompareSide.of(c.a), b=CompareSide.of(c.b),
            table=[TableRow(label=r.label, a=r.a, b=r.b) for r in c.rows],
            aligned=[AlignedPair(a=x, b=y, similarity=s) for x, y, s in c.aligned],
            only_a=c.only_a, only_b=c.only_b, verdict=c.verdict,
            alternatives=[AlternativeOut.of(s, r) for s, r in c.alternatives],
            suggested_searches=[SuggestedSearch(query=q, count=n) for q, n in c.suggested_searches],
        )


class AlternativesOut(BaseModel):
    slug: str
    items: list[AlternativeOut]
    suggested_searches: list[SuggestedSearch]

    @classmethod
    def of(cls, slug: str, alternatives: list[Alternative],
           suggested: list[tuple[str, int]]) -> AlternativesOut:
        return cls(slug=slug, items=[AlternativeOut.of(s, r) for s, r in alternatives],
                   suggested_searches=[SuggestedSearch(query=q, count=n) for q, n in suggested])


class NeighbourOut(BaseModel):
    artifact: ArtifactSummary
    kind: str = Field(description="substitute (same job) or complement (used together).")
    co_searches: int = Field(description="Evidence: distinct searches that returned both.")
    jaccard: float
    npmi: float
    similarity: float

    @classmethod
    def of(cls, edge: EdgeRow, other: ArtifactRecord) -> NeighbourOut:
        return cls(artifact=ArtifactSummary.of(other), kind=edge.kind, co_searches=edge.co_searches,
                   jaccard=edge.jaccard, npmi=edge.npmi, similarity=edge.similarity)


class GraphOut(BaseModel):
    slug: str
    substitutes: list[NeighbourOut]
    complements: list[NeighbourOut]


class ResolveRequest(BaseModel):
    intent: str = Field(description="The need, in plain words (2–500 characters).", max_length=10_000)
    type: ArtifactType | None = None
    limit: int = Field(5, ge=1, le=20)


class ResolveOut(BaseModel):
    resolve_id: str
    artifact: ArtifactSummary | None
    capability: str | None = Field(description="Id of the capability that serves the intent.")
    why: str
    confidence: float = Field(ge=0, le=1)
    alternatives: list[SearchHit]

    @classmethod
    def of(cls, r: Resolution) -> ResolveOut:
        return cls(
            resolve_id=r.resolve_id,
            artifact=ArtifactSummary.of(r.best.artifact) if r.best else None,
            capability=r.best.matches[0].cap_id if r.best and r.best.matches else None,
            why=r.why, confidence=r.confidence, alternatives=[SearchHit.of(h) for h in r.alternatives],
        )


class FeedbackRequest(BaseModel):
    search_id: str | None = Field(None, max_length=64)
    resolve_id: str | None = Field(None, max_length=64)
    artifact: str = Field(max_length=120)
    capability: str | None = Field(None, max_length=200, description="`slug/key` or `key`.")
    outcome: Outcome

    @model_validator(mode="after")
    def _one_reference(self) -> FeedbackRequest:
        if (self.search_id is None) == (self.resolve_id is None):
            raise ValueError("give exactly one of search_id and resolve_id")
        return self

    @property
    def reference(self) -> str:
        return self.search_id or self.resolve_id or ""


class FeedbackOut(BaseModel):
    counted: bool = Field(description="False when this client already gave the same feedback.")
