"""Reading manifests: YAML or JSON files (one artifact each) and JSONL files (one per line).

Parsing and validation never write anything. Every problem names the file, the record
(line number or slug), the field and the reason, so a user can fix it without guessing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from matchgraph.engine.catalog.models import Artifact
from matchgraph.engine.errors import ManifestProblem

MANIFEST_SUFFIXES = {".yaml", ".yml", ".json", ".jsonl"}


@dataclass(frozen=True)
class RawRecord:
    file: str
    record: str
    data: Any
    node: yaml.Node | None = None  # the YAML tree, to say on which line a problem is


def _locate(node: yaml.Node | None, loc: tuple[int | str, ...]) -> str | None:
    """ "line L, column C" of the deepest part of ``loc`` found in the YAML tree."""
    if node is None:
        return None
    found = node
    for part in loc:
        if isinstance(found, yaml.MappingNode):
            match = next((v for k, v in found.value if getattr(k, "value", None) == part), None)
        elif isinstance(found, yaml.SequenceNode) and isinstance(part, int) and part < len(found.value):
            match = found.value[part]
        else:
            match = None
        if match is None:
            break
        found = match
    mark = found.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}"


@dataclass
class ValidatedBatch:
    artifacts: list[Artifact]
    problems: list[ManifestProblem]
    sources: dict[str, str]  # slug -> "file [record]" it came from


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, folders walked recursively for manifest files, in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in MANIFEST_SUFFIXES))
        elif path.exists():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return files


def read_records(file: Path) -> tuple[list[RawRecord], list[ManifestProblem]]:
    """Parse one file into raw records; syntax errors become problems, not exceptions."""
    name = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [ManifestProblem(name, "file", "-", f"cannot be read: {exc}")]
    if file.suffix == ".jsonl":
        records, problems = [], []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(RawRecord(name, f"line {lineno}", json.loads(line)))
            except json.JSONDecodeError as exc:
                problems.append(ManifestProblem(name, f"line {lineno}", "-", f"invalid JSON: {exc.msg}"))
        return records, problems
    try:
        data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
        node = None if file.suffix == ".json" else yaml.compose(text, Loader=yaml.SafeLoader)
    except json.JSONDecodeError as exc:
        return [], [ManifestProblem(name, f"line {exc.lineno}", "-", f"invalid JSON: {exc.msg}")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        reason = getattr(exc, "problem", None) or str(exc)
        return [], [ManifestProblem(name, where, "-", f"invalid YAML: {reason}")]
    return [RawRecord(name, "record 1", data, node)], []


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "-"


def validate_records(records: Iterable[RawRecord]) -> ValidatedBatch:
    artifacts: list[Artifact] = []
    problems: list[ManifestProblem] = []
    sources: dict[str, str] = {}
    for raw in records:
        slug = raw.data.get("slug") if isinstance(raw.data, dict) else None
        record = f"{raw.record}, slug {slug}" if isinstance(slug, str) else raw.record
        if not isinstance(raw.data, dict):
            kind = type(raw.data).__name__
            problems.append(ManifestProblem(raw.file, record, "-", f"expected a mapping, got {kind}"))
            continue
        try:
            artifact = Artifact.model_validate(raw.data)
        except ValidationError as exc:
            for err in exc.errors():
                line = _locate(raw.node, tuple(err["loc"]))
                where = f"{record}, {line}" if line else record
                problems.append(ManifestProblem(raw.file, where, _field_path(err["loc"]), err["msg"]))
            continue
        if artifact.slug in sources:
            problems.append(
                ManifestProblem(raw.file, record, "slug", f"duplicate of {sources[artifact.slug]}")
            )
            continue
        sources[artifact.slug] = f"{raw.file} [{raw.record}]"
        artifacts.append(artifact)
    return ValidatedBatch(artifacts, problems, sources)


def load_manifests(paths: Iterable[Path]) -> ValidatedBatch:
    """Read and validate every manifest under ``paths``."""
    records: list[RawRecord] = []
    problems: list[ManifestProblem] = []
    for file in expand_paths(paths):
        recs, probs = read_records(file)
        records.extend(recs)
        problems.extend(probs)
    batch = validate_records(records)
    batch.problems[:0] = problems
    return batch

