"""Writes over HTTP: ingest manifests, trigger a re-index, manage keys. Each needs a scope."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field

from matchgraph.api.access import require_scope
from matchgraph.api.deps import MatchgraphDep
from matchgraph.api.schemas.search import ErrorBody
from matchgraph.engine.access.keys import Scope
from matchgraph.engine.store.records import ApiKeyRow

router = APIRouter(prefix="/v1/admin", tags=["admin"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 422: {"model": ErrorBody},
}
Writer = Annotated[ApiKeyRow, Depends(require_scope(Scope.write))]
Admin = Annotated[ApiKeyRow, Depends(require_scope(Scope.admin))]


class RejectOut(BaseModel):
    record: str
    field: str
    reason: str


class IngestOut(BaseModel):
    new: list[str]
    updated: list[str]
    unchanged: list[str]
    rejected: list[RejectOut]
    capabilities_removed: int


@router.post("/ingest", response_model=IngestOut, responses=ERRORS)
def ingest(
    mg: MatchgraphDep,
    _: Writer,
    manifests: Annotated[list[dict[str, Any]], Body(max_length=5000,
                                                   description="Artifact manifests (JSON objects).")],
    skip_invalid: Annotated[bool, Query(description="Write the valid ones, report the rest.")] = False,
) -> IngestOut:
    """Validate and write manifests in one transaction; index them with /v1/admin/reindex."""
    report = mg.ingest_manifests(((f"item {i}", m) for i, m in enumerate(manifests)), skip_invalid)
    return IngestOut(
        new=report.new, updated=report.updated, unchanged=report.unchanged,
        capabilities_removed=report.capabilities_removed,
        rejected=[RejectOut(record=p.record, field=p.field, reason=p.reason) for p in report.rejected],
    )


class ReindexOut(BaseModel):
    run: int
    outcome: str
    version: str | None
    capabilities: int | None
    embedded: int | None
    reused: int | None
    deleted: int | None


@router.post("/reindex", response_model=ReindexOut, responses={**ERRORS, 409: {"model": ErrorBody}})
def reindex(mg: MatchgraphDep, _: Writer) -> ReindexOut:
    """Run the re-indexing job now (409 while another one runs)."""
    r = mg.reindex().run
    return ReindexOut(run=r.id, outcome=r.outcome, version=r.version, capabilities=r.capabilities,
                      embedded=r.embedded, reused=r.reused, deleted=r.deleted)


class KeyRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(default_factory=lambda: [Scope.read], min_length=1)


class KeyOut(BaseModel):
    key_id: str
    name: str
    scopes: list[str]
    created_at: str
    revoked_at: str | None
    key: str | None = Field(None, description="The whole key; only in the answer that creates it.")

    @classmethod
    def of(cls, row: ApiKeyRow, key: str | None = None) -> KeyOut:
        return cls(key_id=row.key_id, name=row.name, scopes=list(row.scopes), created_at=row.created_at,
                   revoked_at=row.revoked_at, key=key)


@router.post("/keys", response_model=KeyOut, responses=ERRORS, status_code=201)
def create(mg: MatchgraphDep, _: Admin, body: KeyRequest) -> KeyOut:
    issued = mg.create_key(body.name, body.scopes)
    return KeyOut.of(issued.row, issued.secret)


@router.get("/keys", response_model=list[KeyOut], responses=ERRORS)
def list_keys(mg: MatchgraphDep, _: Admin) -> list[KeyOut]:
    return [KeyOut.of(row) for row in mg.list_keys()]


@router.delete("/keys/{key_id}", response_model=KeyOut, responses={**ERRORS, 404: {"model": ErrorBody}})
def revoke(mg: MatchgraphDep, _: Admin, key_id: str) -> KeyOut:
    return KeyOut.of(mg.revoke_key(key_id))
