"""Hypothesis-generated manifests: broken YAML, wrong types, huge strings, odd Unicode.
Ingest never crashes and never writes part of a batch."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matchgraph.engine.catalog.ingest import ingest_paths
from matchgraph.engine.errors import InvalidManifest
from matchgraph.engine.store import open_stores

from .conftest import FIXTURE_CATALOG

odd_text = st.text(st.characters(codec="utf-8"), max_size=50) | st.sampled_from(
    ["\u202e", "\x00", "\ud7ff", "😀" * 100, "x" * 20_000, "<script>", "' OR 1=1 --", "\u0000\u0007"]
)
scalar = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | odd_text
json_value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    odd_text, inner, max_size=4), max_leaves=12)
good = yaml.safe_load((FIXTURE_CATALOG / "vecstore.yaml").read_text())


@st.composite
def mutated_manifest(draw: st.DrawFn) -> object:
    """A valid manifest with one field broken, or something else entirely."""
    kind = draw(st.sampled_from(["field", "capability", "anything"]))
    if kind == "anything":
        return draw(json_value)
    doc = json.loads(json.dumps(good, default=str))
    if kind == "field":
        doc[draw(st.sampled_from([*doc, "unknown_field"]))] = draw(json_value)
    else:
        cap = doc["capabilities"][0]
        cap[draw(st.sampled_from([*cap, "bogus"]))] = draw(json_value)
    return doc


raw_file = st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(mutated_manifest(), min_size=1, max_size=4), junk=st.lists(raw_file, max_size=2),
       as_yaml=st.booleans())
def test_ingest_never_crashes_and_never_writes_part_of_a_batch(
    tmp_path_factory, docs: list[object], junk: list[bytes], as_yaml: bool  # type: ignore[no-untyped-def]
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    store = open_stores("sqlite", folder / "db.sqlite").catalog
    before = store.catalog_hash()
    (folder / "in").mkdir()
    for i, doc in enumerate(docs):
        path = folder / "in" / (f"m{i}.yaml" if as_yaml else f"m{i}.json")
        try:
            text = yaml.safe_dump(doc, allow_unicode=True) if as_yaml else json.dumps(doc)
        except (ValueError, yaml.YAMLError):
            text = repr(doc)
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    for i, blob in enumerate(junk):
        (folder / "in" / f"junk{i}.yaml").write_bytes(blob)
    (folder / "in" / "ok.yaml").write_text(yaml.safe_dump(good))
    try:
        report = ingest_paths(store, [folder / "in"])
    except InvalidManifest as exc:
        assert exc.problems and all(p.file and p.record and p.field and p.reason for p in exc.problems)
        assert store.catalog_hash() == before and store.sizes()[0] == 0  # nothing written
    else:
        assert report.rejected == [] and store.sizes()[0] >= 1
    try:
        report = ingest_paths(store, [folder / "in"], skip_invalid=True)
    except InvalidManifest:  # pragma: no cover - skip_invalid never raises for bad records
        raise AssertionError("skip_invalid raised") from None
    assert "vecstore" in {a.slug for a in store.iter_artifacts()}


def test_a_huge_manifest_field_is_rejected_with_its_name(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(good, default=str))
    doc["capabilities"][0]["description"] = "x" * 100_000
    (tmp_path / "big.json").write_text(json.dumps(doc))
    store = open_stores("sqlite", tmp_path / "db.sqlite").catalog
    try:
        ingest_paths(store, [tmp_path / "big.json"])
    except InvalidManifest as exc:
        assert exc.problems[0].field == "capabilities[0].description"
        assert "8000" in exc.problems[0].reason
    else:
        raise AssertionError("a 100 kB description was accepted")
