from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Response

from matchgraph.api.deps import ClientDep, MatchgraphDep
from matchgraph.api.schemas.search import ErrorBody, SearchPage
from matchgraph.engine.catalog.models import ArtifactType, PricingModel
from matchgraph.engine.search.filters import SearchFilters
from matchgraph.engine.search.searcher import MAX_LIMIT, MAX_OFFSET, SearchRequest

router = APIRouter(prefix="/v1", tags=["search"])
@router.get(
    "/search",
    response_model=SearchPage,
    responses={422: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
async def search(
    mg: MatchgraphDep,
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
    # The hottest route runs on the event loop: a cached search is a few milliseconds of
    # Python, and handing it to the thread pool cost more than that (hand-offs, threads
    # contending for the GIL). Only the model step, which releases the GIL, runs elsewhere:
    # on the model thread, batched with the other searches waiting for it.
    pending = mg.begin_search(request)
    if not pending.vector.done():
        await asyncio.wrap_future(pending.vector)
    page = SearchPage.of(mg.finish_search(pending))
    # pydantic writes the JSON in one pass (FastAPI would check the model again and json.dumps
    # a dict of it); the declared response_model still documents the shape.
    return Response(page.model_dump_json(), media_type="application/json")
