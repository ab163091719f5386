from __future__ import annotations

import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matchgraph.engine.catalog.ingest import export_jsonl, ingest_artifacts, ingest_paths
from matchgraph.engine.catalog.manifests import load_manifests
from matchgraph.engine.catalog.models import Artifact, ArtifactType, Capability, PricingModel
from matchgraph.engine.store import open_stores

from .conftest import FIXTURE_CATALOG


def test_reingest_is_idempotent_and_keeps_row_ids(tmp_path: Path) -> None:
    store = open_stores("sqlite", tmp_path / "db.sqlite").catalog
    first = ingest_paths(store, [FIXTURE_CATALOG])
    ids_before = {c.cap_id: c.row_id for c in store.indexable_capabilities()}
    second = ingest_paths(store, [FIXTURE_CATALOG])
    assert len(first.new) == 5 and second.new == [] and second.updated == []
    assert len(second.unchanged) == 5
    assert {c.cap_id: c.row_id for c in store.indexable_capabilities()} == ids_before


def test_changed_and_removed_capabilities(tmp_path: Path) -> None:
    store = open_stores("sqlite", tmp_path / "db.sqlite").catalog
    ingest_paths(store, [FIXTURE_CATALOG])
    before = {c.cap_id: c for c in store.indexable_capabilities()}
    vec = store.artifact("vecstore").artifact
    changed = vec.model_copy(deep=True)
    changed.capabilities[0].description += " Now with product quantisation."
    del changed.capabilities[2]  # hybrid-ranking disappears from the manifest
    report = ingest_artifacts(store, [changed])
    assert report.updated == ["vecstore"] and report.capabilities_removed == 1
    after = {c.cap_id: c for c in store.indexable_capabilities()}
    assert "vecstore/hybrid-ranking" not in after
    sim = "vecstore/similarity-search"
    assert after[sim].row_id == before[sim].row_id  # stable id
    assert after[sim].content_hash != before[sim].content_hash  # but the content hash moved
    filt = "vecstore/metadata-filtering"
    assert after[filt].content_hash == before[filt].content_hash


def test_export_then_ingest_gives_the_same_catalog(tmp_path: Path) -> None:
    a = open_stores("sqlite", tmp_path / "a.sqlite").catalog
    ingest_paths(a, [FIXTURE_CATALOG])
    out = tmp_path / "export.jsonl"
    with out.open("w") as fh:
        assert export_jsonl(a, fh) == 5
    b = open_stores("sqlite", tmp_path / "b.sqlite").catalog
    ingest_paths(b, [out])
    assert list(a.iter_artifacts()) == list(b.iter_artifacts())
    assert a.catalog_hash() == b.catalog_hash()


text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60).filter(
    lambda s: s.strip() != ""
)
keys = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,12}", fullmatch=True)
capability = st.builds(
    Capability, key=keys, name=text, description=text,
    intents=st.lists(text, max_size=3), limitations=st.lists(text, max_size=2),
)
artifact = st.builds(
    Artifact,
    slug=st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True),
    name=text,
    type=st.sampled_from(list(ArtifactType)),
    summary=st.none() | text,
    categories=st.lists(st.from_regex(r"[a-z]{1,10}", fullmatch=True), max_size=3),
    capabilities=st.lists(capability, min_size=1, max_size=4, unique_by=lambda c: c.key),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(artifact, min_size=1, max_size=5, unique_by=lambda a: a.slug))
def test_round_trip_property(tmp_path_factory, artifacts: list[Artifact]) -> None:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("rt")
    store = open_stores("sqlite", tmp / "db.sqlite").catalog
    ingest_artifacts(store, artifacts)
    stored = {a.slug: a for a in store.iter_artifacts()}
    assert stored == {a.slug: a for a in artifacts}  # ingest -> read back is lossless
    buf = io.StringIO()
    export_jsonl(store, buf)
    f = tmp / "x.jsonl"
    f.write_text(buf.getvalue(), encoding="utf-8")
    batch = load_manifests([f])
    assert batch.problems == []
    assert {a.slug: a for a in batch.artifacts} == stored


def test_pricing_defaults_are_explicit(tmp_path: Path) -> None:
    a = Artifact(slug="x1", name="X", type=ArtifactType.app,
                 capabilities=[Capability(key="k", name="K", description="d")])
    assert a.pricing.model is PricingModel.free and a.pricing.free_tier is True
