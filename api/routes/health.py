from __future__ import annotations

from fastapi import APIRouter

from matchgraph.api.deps import MatchgraphDep
from matchgraph.api.schemas.search import HealthReport

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthReport)
def healthz(mg: MatchgraphDep) -> HealthReport:
    h = mg.health()
    return HealthReport(
        status=h.status, index_version=h.index_version, indexed_capabilities=h.index_count,
        model=h.model, artifacts=h.counts.artifacts, capabilities=h.counts.capabilities,
        searches=h.counts.searches, matches=h.counts.matches, pending_matches=h.pending_matches,
    )
