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
    """Who is asking, as verified by the access middleware (``api.access.verified_client``):
    never a header the client sets freely."""
    client: str | None = getattr(request.state, "client", None)
    return client


MatchgraphDep = Annotated[Matchgraph, Depends(get_engine)]
ClientDep = Annotated[str | None, Depends(client_id)]
