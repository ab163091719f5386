from __future__ import annotations

from pathlib import Path

import pytest

from matchgraph.engine.catalog.ingest import ingest_paths
from matchgraph.engine.catalog.manifests import load_manifests
from matchgraph.engine.errors import InvalidManifest
from matchgraph.engine.store import open_stores

from .conftest import FIXTURE_CATALOG, FIXTURES

BAD = FIXTURES / "bad"


def test_fixture_catalog_validates_from_yaml_and_jsonl() -> None:
    batch = load_manifests([FIXTURE_CATALOG])
    assert batch.problems == []
    assert sorted(a.slug for a in batch.artifacts) == [
        "llama-runner", "pg-reader-mcp", "pixel-forge", "speechy", "vecstore",
    ]


def test_unknown_type_names_file_record_field_and_reason() -> None:
    batch = load_manifests([BAD / "wrong-type.yaml"])
    [problem] = batch.problems
    assert problem.file.endswith("wrong-type.yaml")
    assert "wrong-type" in problem.record
    assert problem.field == "type"
    assert "agent" in problem.reason and "model" in problem.reason  # lists the valid kinds


def test_yaml_syntax_error_gives_the_line() -> None:
    [problem] = load_manifests([BAD / "broken.yaml"]).problems
    assert problem.record == "line 3" or problem.record.startswith("line ")
    assert "invalid YAML" in problem.reason


def test_jsonl_problems_are_reported_per_line() -> None:
    batch = load_manifests([BAD / "mixed.jsonl"])
    where = {(p.record, p.field) for p in batch.problems}
    assert ("line 2", "-") in where  # truncated JSON
    assert ("line 3, slug no-caps", "capabilities") in where  # empty capability list
    assert [a.slug for a in batch.artifacts] == ["ok-one"]


def test_nested_field_paths_are_readable(tmp_path: Path) -> None:
    f = tmp_path / "x.json"
    f.write_text(
        '{"slug": "x", "name": "X", "type": "app", "capabilities": ['
        '{"key": "ok", "name": "A", "description": "fine"},'
        '{"key": "Bad Key", "name": "B", "description": "fine"}]}'
    )
    [problem] = load_manifests([f]).problems
    assert problem.field == "capabilities[1].key"


def test_duplicate_slugs_and_capability_keys_are_rejected(tmp_path: Path) -> None:
    line = ('{"slug": "dup", "name": "D", "type": "app", "capabilities": '
            '[{"key": "a", "name": "A", "description": "x"}, {"key": "a", "name": "B", '
            '"description": "y"}]}')
    ok = ('{"slug": "dup", "name": "D", "type": "app", "capabilities": '
          '[{"key": "a", "name": "A", "description": "x"}]}')
    f = tmp_path / "d.jsonl"
    f.write_text(f"{ok}\n{ok}\n{line}\n")
    problems = load_manifests([f]).problems
    assert any(p.field == "slug" and "duplicate" in p.reason for p in problems)
    assert any("appears more than once" in p.reason for p in problems)


def test_one_invalid_record_rejects_the_whole_batch(tmp_path: Path) -> None:
    store = open_stores("sqlite", tmp_path / "db.sqlite").catalog
    with pytest.raises(InvalidManifest) as info:
        ingest_paths(store, [FIXTURE_CATALOG, BAD / "wrong-type.yaml"])
    assert "nothing was written" in str(info.value)
    assert "wrong-type.yaml" in str(info.value)
    assert store.sizes()[0] == 0
    assert store.sizes()[1] == 0


def test_skip_invalid_writes_the_valid_records_and_reports_the_rest(tmp_path: Path) -> None:
    store = open_stores("sqlite", tmp_path / "db.sqlite").catalog
    report = ingest_paths(store, [FIXTURE_CATALOG, BAD], skip_invalid=True)
    assert len(report.new) == 6  # five fixtures + ok-one
    assert {p.file.rsplit("/", 1)[-1] for p in report.rejected} == {
        "wrong-type.yaml", "broken.yaml", "mixed.jsonl",
    }
    assert store.sizes()[0] == 6


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        load_manifests([tmp_path / "nope"])
