"""Importers: real catalogs (OpenRouter, awesome lists, Hugging Face, GitHub, unfragile.yml)
turned into manifests and ingested.

Each source pairs a parser (text -> document: JSON, YAML or the markdown text itself) with a
pure importer (document -> manifest dicts). ``run_import`` parses, converts, validates every
dict with :func:`engine.manifests.validate_records` (so a reject names the record and the
field) and ingests the valid ones with :func:`engine.catalog.ingest_artifacts` in one
transaction. Importers are deterministic, so importing the same document twice reports
everything unchanged the second time.

``run_import`` passes ``embed=None`` to the decomposer by default: near-duplicates inside
one description are mostly word-for-word repeats that token overlap catches, and leaving
the model out keeps an import of thousands of records to seconds and free of model
loading. Pass ``embed=engine.embedder.encode`` for embedding-based merging.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from matchgraph.engine.catalog.decompose import Embed
from matchgraph.engine.catalog.importers.awesome import SECTIONS, import_awesome
from matchgraph.engine.catalog.importers.github import import_github
from matchgraph.engine.catalog.importers.huggingface import import_huggingface
from matchgraph.engine.catalog.importers.openrouter import import_openrouter
from matchgraph.engine.catalog.importers.unfragile import import_unfragile
from matchgraph.engine.catalog.ingest import CatalogWriter, ingest_artifacts
from matchgraph.engine.catalog.manifests import RawRecord, ValidatedBatch, validate_records
from matchgraph.engine.catalog.models import Artifact
from matchgraph.engine.errors import InvalidManifest, ManifestProblem, MatchgraphError


class UnknownSource(MatchgraphError):
    pass


class SourceFormatError(MatchgraphError):
    """The text is not a document of the source's kind (bad JSON/YAML, unexpected shape)."""


def _json(text: str) -> Any:
    return json.loads(text)


def _yaml_documents(text: str) -> Any:
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    return docs[0] if len(docs) == 1 else docs


def _markdown(text: str) -> Any:
    return text


def _awesome(kind: str) -> Callable[[Any, Embed | None], list[Any]]:
    return lambda document, embed: import_awesome(document, kind, embed)


@dataclass(frozen=True)
class Source:
    name: str
    parse: Callable[[str], Any]
    convert: Callable[[Any, Embed | None], list[Any]]
    what: str


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source("openrouter", _json, lambda d, e: import_openrouter(d, embed=e),
               "OpenRouter GET /api/v1/models JSON"),
        Source("awesome-mcp", _markdown, _awesome("mcp"),
               "an awesome list of MCP servers (README markdown)"),
        Source("awesome-agents", _markdown, _awesome("agent"),
               "an awesome list of AI agents (README markdown)"),
        Source("awesome", _markdown, _awesome(SECTIONS),
               "an awesome list of mixed artifacts, typed by its section headings (README markdown)"),
        Source("huggingface", _json, lambda d, e: import_huggingface(d),
               "Hugging Face Hub /api/models JSON"),
        Source("github", _json, lambda d, e: import_github(d, embed=e),
               "GitHub repository, repository list or search JSON"),
        Source("unfragile", _yaml_documents, lambda d, e: import_unfragile(d),
               "unfragile.yml manifests (YAML)"),
    )
}


@dataclass
class ImportReport:
    source: str
    origin: str
    records: int = 0
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    capabilities_removed: int = 0
    rejected: list[ManifestProblem] = field(default_factory=list)

    @property
    def rejected_records(self) -> int:
        return len({p.record for p in self.rejected})

    def summary(self) -> str:
        return (
            f"{self.source}: {self.records} records read; {len(self.new)} new, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {self.rejected_records} rejected"
        )


def get_source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        valid = ", ".join(SOURCES)
        raise UnknownSource(f"unknown source {name!r}; valid sources: {valid}") from None


def convert_text(source: str, text: str, embed: Embed | None = None) -> list[Any]:
    """Parse ``text`` as the source's document and convert it to manifest dicts (no writes)."""
    spec = get_source(source)
    try:
        document = spec.parse(text)
    except json.JSONDecodeError as exc:
        raise SourceFormatError(f"{source}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    except yaml.YAMLError as exc:
        raise SourceFormatError(f"{source}: not valid YAML ({exc})") from exc
    try:
        return spec.convert(document, embed)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise SourceFormatError(f"{source}: not {spec.what}: {exc}") from exc


def run_import(
    source: str, text: str, store: CatalogWriter, skip_invalid: bool = True, *,
    origin: str | None = None, embed: Embed | None = None,
) -> ImportReport:
    """Import one document. With ``skip_invalid=False`` any reject raises
    :class:`engine.errors.InvalidManifest` and nothing is written."""
    origin = origin or source
    manifests = convert_text(source, text, embed)
    records = [RawRecord(origin, f"entry {i}", data) for i, data in enumerate(manifests, start=1)]
    batch = validate_records(records)
    ingested = ingest_artifacts(store, batch.artifacts, batch.problems, skip_invalid)
    return ImportReport(
        source=source, origin=origin, records=len(records), new=ingested.new, updated=ingested.updated,
        unchanged=ingested.unchanged, capabilities_removed=ingested.capabilities_removed,
        rejected=ingested.rejected,
    )


# Which source reads a file of a folder of shared catalog documents, by file name (first match
# wins): the six documents of ../shared/data/sources and others named the same way.
SHARED_FILES: tuple[tuple[str, str], ...] = (
    ("openrouter*.json", "openrouter"),
    ("awesome-mcp*.md", "awesome-mcp"),
    ("awesome-ai-agents*.md", "awesome-agents"),
    ("awesome-*.md", "awesome"),
)


def source_for(path: Path) -> str | None:
    """The source that reads ``path`` in a shared folder, or None when no pattern names it."""
    return next((source for pattern, source in SHARED_FILES if fnmatch.fnmatch(path.name, pattern)), None)


@dataclass
class SharedImport:
    """What ``import --all-shared`` did: one report per document, and what it left out."""

    reports: list[ImportReport] = field(default_factory=list)
    described: list[str] = field(default_factory=list)  # entries the catalog already describes by hand
    duplicates: list[str] = field(default_factory=list)  # entries an earlier document already gave
    ignored: list[str] = field(default_factory=list)  # files no source reads

    @property
    def rejected_records(self) -> int:
        return sum(r.rejected_records for r in self.reports)

    def summary(self) -> str:
        new = sum(len(r.new) for r in self.reports)
        updated = sum(len(r.updated) for r in self.reports)
        unchanged = sum(len(r.unchanged) for r in self.reports)
        return (f"{len(self.reports)} documents: {new} new, {updated} updated, {unchanged} unchanged, "
                f"{self.rejected_records} rejected; left out {len(self.described)} the catalog already "
                f"describes and {len(self.duplicates)} repeated in an earlier document")


def run_import_all(
    directory: Path, store: CatalogWriter, described: Iterable[Artifact] = (), skip_invalid: bool = True,
) -> SharedImport:
    """Import every document of ``directory`` that a source reads (:data:`SHARED_FILES`), in file
    name order, on top of the ``described`` artifacts (the hand-written catalog): an entry with
    one of their slugs, names or aliases is left out, so a list's one-line text never replaces
    a described artifact, and an entry an earlier document already gave is left out too, so a
    second run changes nothing. Every document is converted and validated before anything is
    written: with ``skip_invalid=False`` one invalid record anywhere means nothing is written."""
    if not directory.is_dir():
        raise SourceFormatError(f"{directory}: not a folder of catalog documents")
    keep_slugs = {a.slug for a in described}
    keep_names = {n.casefold() for a in described for n in (a.name, *a.aliases)}
    result = SharedImport()
    batches: list[tuple[str, str, ValidatedBatch, int]] = []
    for path in sorted(p for p in directory.iterdir() if p.is_file()):
        source = source_for(path)
        if source is None:
            result.ignored.append(path.name)
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceFormatError(f"{path}: cannot be read: {exc}") from exc
        manifests = convert_text(source, text)
        records = [RawRecord(str(path), f"entry {i}", data) for i, data in enumerate(manifests, start=1)]
        batches.append((source, str(path), validate_records(records), len(records)))
    problems = [p for _, _, batch, _ in batches for p in batch.problems]
    if problems and not skip_invalid:
        raise InvalidManifest(problems)
    claimed: set[str] = set()  # slugs an earlier document of this run gave
    for source, origin, batch, count in batches:
        fresh = []
        for artifact in batch.artifacts:
            if artifact.slug in keep_slugs or artifact.name.casefold() in keep_names:
                result.described.append(artifact.slug)
            elif artifact.slug in claimed:
                result.duplicates.append(artifact.slug)
            else:
                fresh.append(artifact)
        claimed.update(a.slug for a in fresh)
        ingested = ingest_artifacts(store, fresh, batch.problems, skip_invalid=True)
        result.reports.append(ImportReport(
            source=source, origin=origin, records=count, new=ingested.new, updated=ingested.updated,
            unchanged=ingested.unchanged, capabilities_removed=ingested.capabilities_removed,
            rejected=ingested.rejected,
        ))
    return result


__all__ = ["SHARED_FILES", "SOURCES", "ImportReport", "SharedImport", "SourceFormatError", "UnknownSource",
           "convert_text", "get_source", "run_import", "run_import_all", "source_for"]
