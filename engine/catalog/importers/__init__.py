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

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from matchgraph.engine.catalog.decompose import Embed
from matchgraph.engine.catalog.importers.awesome import SECTIONS, import_awesome
from matchgraph.engine.catalog.importers.github import import_github
from matchgraph.engine.catalog.importers.huggingface import import_huggingface
from matchgraph.engine.catalog.importers.openrouter import import_openrouter
from matchgraph.engine.catalog.importers.unfragile import import_unfragile
from matchgraph.engine.catalog.ingest import CatalogWriter, ingest_artifacts
from matchgraph.engine.catalog.manifests import RawRecord, validate_records
from matchgraph.engine.errors import ManifestProblem, MatchgraphError


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


__all__ = ["SOURCES", "ImportReport", "SourceFormatError", "UnknownSource", "convert_text",
           "get_source", "run_import"]
