"""Shared route dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from matchgraph.engine.facade import Matchgraph


# Both are async on purpose: FastAPI runs a plain `def` dependency in the thread pool, a
# hand-off that costs more than the work these do.
async def get_engine(request: Request) -> Matchgraph:
    mg: Matchgraph = request.app.state.matchgraph
    return mg


async def client_id(request: Request) -> str | None:
    """Who is asking, for de-duplicating evidence: the API key, an explicit id, else the address."""
    key = getattr(request.state, "api_key", None)
    if key is not None:
        return f"key:{key.key_id}"
    explicit = request.headers.get("x-client-id")
    if explicit:
        return explicit[:200]
    return request.client.host if request.client else None


MatchgraphDep = Annotated[Matchgraph, Depends(get_engine)]
ClientDep = Annotated[str | None, Depends(client_id)]
