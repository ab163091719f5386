"""The needs taxonomy (data/needs_taxonomy.yaml) stays true to the bundled catalog."""

from __future__ import annotations

from collections import Counter

import yaml

from matchgraph.engine.catalog.manifests import load_manifests
from matchgraph.engine.settings import Settings, bundled_data

TAXONOMY = yaml.safe_load((bundled_data() / "needs_taxonomy.yaml").read_text(encoding="utf-8"))
ARTIFACTS = {a.slug: a for a in load_manifests([Settings().catalog_dir]).artifacts}
NEEDS = [need for group in TAXONOMY["groups"] for need in group["needs"]]


def test_needs_are_many_unique_and_grouped() -> None:
    assert len(TAXONOMY["groups"]) >= 10 and len(NEEDS) >= 110
    keys = Counter(n["key"] for n in NEEDS)
    assert [k for k, n in keys.items() if n > 1] == []
    assert all(n["need"].strip() and n["types"] for n in NEEDS)


def test_every_need_is_served_by_real_artifacts_of_its_types() -> None:
    for need in NEEDS:
        served = need["served_by"]
        assert len(served) >= 2, need["key"]
        missing = [s for s in served if s not in ARTIFACTS]
        assert missing == [], (need["key"], missing)


def test_the_taxonomy_covers_every_type_and_most_of_the_catalog() -> None:
    served = {s for need in NEEDS for s in need["served_by"]}
    assert {ARTIFACTS[s].type.value for s in served} == {a.type.value for a in ARTIFACTS.values()}
    assert len(served) / len(ARTIFACTS) >= 0.9
