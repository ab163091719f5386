from __future__ import annotations

from fastapi import APIRouter, Response

from matchgraph.api.deps import MatchgraphDep
from matchgraph.api.schemas.search import HealthReport

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthReport)
def healthz(mg: MatchgraphDep, response: Response) -> HealthReport:
    """200 while the engine serves a sound index; 503 when the served version's files were
    damaged on disk (it still answers from memory: re-index or restore)."""
    h = mg.health()
    if h.status == "damaged":
        response.status_code = 503
    return HealthReport(
        status=h.status, index_version=h.index_version, indexed_capabilities=h.index_count,
        model=h.model, artifacts=h.counts.artifacts, capabilities=h.counts.capabilities,
        searches=h.counts.searches, matches=h.counts.matches, pending_matches=h.pending_matches,
        dropped_matches=h.dropped_matches, database=h.database,
    )
