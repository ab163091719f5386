from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from matchgraph.api.deps import MatchgraphDep
from matchgraph.api.schemas.search import (
    ArtifactDetail,
    ArtifactPage,
    ArtifactSummary,
    CapabilityDetail,
    ErrorBody,
)
from matchgraph.engine.catalog.models import Artifact

router = APIRouter(prefix="/v1", tags=["catalog"])


@router.get("/artifacts", response_model=ArtifactPage)
def list_artifacts(
    mg: MatchgraphDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ArtifactPage:
    records, total = mg.list_artifacts(limit, offset)
    return ArtifactPage(
        items=[ArtifactSummary.of(r) for r in records], total=total, limit=limit, offset=offset
    )


@router.get("/schema/manifest.json", summary="The manifest format as JSON Schema")
def manifest_schema() -> dict[str, object]:
    """The JSON Schema of one artifact manifest, generated from the models `ingest` validates
    with (YAML manifests follow the same shape)."""
    return Artifact.model_json_schema()


@router.get("/artifacts/{slug}", response_model=ArtifactDetail,
            responses={404: {"model": ErrorBody}})
def get_artifact(mg: MatchgraphDep, slug: str) -> ArtifactDetail:
    return ArtifactDetail.of(mg.get_artifact(slug))


@router.get("/capabilities/{cap_id:path}", response_model=CapabilityDetail,
            responses={404: {"model": ErrorBody}})
def get_capability(mg: MatchgraphDep, cap_id: str) -> CapabilityDetail:
    return CapabilityDetail.of(mg.get_capability(cap_id))
