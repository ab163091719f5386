from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from matchgraph.api.access import api_key
from matchgraph.api.deps import ClientDep, MatchgraphDep
from matchgraph.api.schemas.recommend import (
    AlternativesOut,
    ComparisonOut,
    FeedbackOut,
    FeedbackRequest,
    GraphOut,
    NeighbourOut,
    ResolveOut,
    ResolveRequest,
    ScoreHistoryOut,
    ScoreOut,
)
from matchgraph.api.schemas.search import ErrorBody

router = APIRouter(prefix="/v1", tags=["recommendations"])
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody}, 422: {"model": ErrorBody}, 503: {"model": ErrorBody},
}


@router.get("/compare/{a}/{b}", response_model=ComparisonOut, responses=ERRORS)
def compare(mg: MatchgraphDep, a: str, b: str) -> ComparisonOut:
    return ComparisonOut.of(mg.compare(a, b))


@router.get("/artifacts/{slug}/alternatives", response_model=AlternativesOut, responses=ERRORS)
def alternatives(
    mg: MatchgraphDep, slug: str, limit: Annotated[int, Query(ge=1, le=20)] = 5
) -> AlternativesOut:
    return AlternativesOut.of(slug, mg.alternatives([slug], limit), mg.suggested_searches([slug]))


@router.get("/artifacts/{slug}/score", response_model=ScoreHistoryOut, responses=ERRORS)
def score(mg: MatchgraphDep, slug: str) -> ScoreHistoryOut:
    record = mg.get_artifact(slug)
    lines, history = mg.explain(slug)
    return ScoreHistoryOut(slug=slug, score=ScoreOut.of(mg.score(record.row_id)),
                           history=history, explanation=lines)


@router.get("/graph/{slug}", response_model=GraphOut, responses=ERRORS)
def graph(mg: MatchgraphDep, slug: str) -> GraphOut:
    _, neighbours = mg.neighbours(slug)
    out = [NeighbourOut.of(edge, other) for edge, other in neighbours]
    return GraphOut(slug=slug, substitutes=[n for n in out if n.kind == "substitute"],
                    complements=[n for n in out if n.kind == "complement"])


@router.post("/resolve", response_model=ResolveOut, responses=ERRORS)
def resolve(mg: MatchgraphDep, client: ClientDep, body: ResolveRequest) -> ResolveOut:
    return ResolveOut.of(mg.resolve(body.intent, body.type, body.limit, client_id=client))


@router.post("/feedback", response_model=FeedbackOut,
             responses={**ERRORS, 401: {"model": ErrorBody}, 403: {"model": ErrorBody}})
def feedback(mg: MatchgraphDep, client: ClientDep, request: Request, body: FeedbackRequest) -> FeedbackOut:
    key = api_key(request)
    if key is None and not mg.settings.limits.anonymous_feedback:
        raise HTTPException(401, "feedback needs an API key with the feedback scope")
    if key is not None and not {"feedback", "admin"} & set(key.scopes):
        raise HTTPException(403, f"API key {key.key_id} lacks the feedback scope")
    counted = mg.feedback(body.reference, body.artifact, body.capability, body.outcome, client)
    return FeedbackOut(counted=counted)
