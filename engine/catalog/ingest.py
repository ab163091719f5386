"""Ingest and export: manifests in, the same manifests out.

An ingest is one transaction. By default a single invalid record rejects the whole
batch and nothing is written; with ``skip_invalid`` the valid records are written and
the invalid ones are reported.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from matchgraph.engine.catalog.manifests import RawRecord, load_manifests, validate_records
from matchgraph.engine.catalog.models import Artifact
from matchgraph.engine.errors import InvalidManifest, ManifestProblem


@dataclass
class UpsertReport:
    """What a catalog store wrote: slugs new, updated and unchanged, capabilities dropped."""

    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    capabilities_removed: int = 0


class CatalogWriter(Protocol):
    """What ingest and export need of a catalog store (``engine.store`` implements it)."""

    def upsert_artifacts(self, artifacts: Sequence[Artifact]) -> UpsertReport: ...

    def iter_artifacts(self) -> Iterator[Artifact]: ...


@dataclass
class IngestReport(UpsertReport):
    """What the store wrote, plus the records that were rejected before writing."""

    rejected: list[ManifestProblem] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.new)} new, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.rejected)} rejected; {self.capabilities_removed} capabilities removed"
        )


def ingest_artifacts(
    store: CatalogWriter, artifacts: Iterable[Artifact], problems: list[ManifestProblem] | None = None,
    skip_invalid: bool = False,
) -> IngestReport:
    problems = problems or []
    if problems and not skip_invalid:
        raise InvalidManifest(problems)
    upserted = store.upsert_artifacts(list(artifacts))
    return IngestReport(
        new=upserted.new,
        updated=upserted.updated,
        unchanged=upserted.unchanged,
        capabilities_removed=upserted.capabilities_removed,
        rejected=problems,
    )


def ingest_paths(store: CatalogWriter, paths: Iterable[Path], skip_invalid: bool = False) -> IngestReport:
    batch = load_manifests(paths)
    return ingest_artifacts(store, batch.artifacts, batch.problems, skip_invalid)


def ingest_records(
    store: CatalogWriter, records: Iterable[tuple[str, Any]], skip_invalid: bool = False
) -> IngestReport:
    """Manifests already parsed (e.g. a request's JSON), each with a name for its problems."""
    batch = validate_records(RawRecord("request", name, data) for name, data in records)
    return ingest_artifacts(store, batch.artifacts, batch.problems, skip_invalid)


def export_jsonl(store: CatalogWriter, out: TextIO) -> int:
    """Write every artifact as one JSON line; returns how many were written."""
    n = 0
    for artifact in store.iter_artifacts():
        out.write(json.dumps(artifact.model_dump(mode="json", exclude_none=True), ensure_ascii=False))
        out.write("\n")
        n += 1
    return n
