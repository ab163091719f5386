from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import ClientDep, EngineDep
from api.schemas import ErrorBody, SearchPage
from engine.filters import SearchFilters
from engine.models import ArtifactType, PricingModel
from engine.search import MAX_LIMIT, MAX_OFFSET, SearchRequest

router = APIRouter(prefix="/v1", tags=["search"])


@router.get(
    "/search",
    response_model=SearchPage,
    responses={422: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
def search(
    engine: EngineDep,
    client: ClientDep,
    q: Annotated[str, Query(description="What you need, in plain words (2–500 characters).",
                            min_length=2, max_length=10_000)],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    type: Annotated[list[ArtifactType] | None, Query(description="Artifact types to keep.")] = None,
    pricing: Annotated[list[PricingModel] | None, Query(description="Pricing models to keep.")] = None,
    free: Annotated[bool | None, Query(description="Only artifacts with (true) or without "
                                                   "(false) a free tier.")] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    source: Annotated[str, Query(max_length=40, pattern=r"^[A-Za-z0-9_.-]+$",
                                 description="Which app is asking (web, cli, agent name…).")] = "api",
) -> Response:
    filters = SearchFilters(tuple(type or ()), tuple(pricing or ()), free, category, tag)
    request = SearchRequest(q, filters, limit, offset, source=source, client_id=client)
    # The hottest route: pydantic writes the JSON in one pass, instead of FastAPI checking
    # the model again and json.dumps encoding a dict of it (the schema still documents it).
    page = SearchPage.of(engine.search(request))
    return Response(page.model_dump_json(), media_type="application/json")
