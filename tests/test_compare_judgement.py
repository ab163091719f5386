"""Comparisons judge: different jobs are said to be different, alignment respects direction,
and prices read the way people quote them (the seed pages' pairs, on the bundled catalog)."""

from __future__ import annotations

import pytest

from matchgraph.engine.catalog.manifests import load_manifests
from matchgraph.engine.catalog.models import StartingPrice
from matchgraph.engine.recommend.compare import format_price, free_to_use, same_job, ways_to_get
from matchgraph.engine.settings import Settings

BY_SLUG = {a.slug: a for a in load_manifests([Settings().catalog_dir]).artifacts}


def test_reading_an_image_is_not_drawing_one() -> None:
    ministral, flux = BY_SLUG["ministral-3-8b-2512"], BY_SLUG["flux-1-pro"]
    assert not any(same_job(x, y) for x in ministral.capabilities for y in flux.capabilities)
    invoke = BY_SLUG["invokeai"]
    assert any(same_job(x, y) for x in invoke.capabilities for y in flux.capabilities)


@pytest.mark.parametrize(("amount", "unit", "shown"), [
    (1.5e-7, "prompt token", "$0.15 per 1M prompt tokens"),
    (0.15, "1M input tokens", "$0.15 per 1M input tokens"),
    (0.000016, "character", "$16 per 1M characters"),
    (20, "month", "$20 per month"),
    (0.006, "minute", "$0.006 per minute"),
])
def test_prices_read_as_people_quote_them(amount: float, unit: str, shown: str) -> None:
    assert format_price(StartingPrice(amount=amount, unit=unit)) == shown


def test_open_weights_sold_by_api_show_both_ways_and_count_as_free() -> None:
    pricing = BY_SLUG["ministral-3-8b-2512"].pricing
    assert free_to_use(pricing)
    shown = ways_to_get(pricing)
    assert shown.startswith("Open weights (Apache-2.0)")
    assert "API from Mistral AI: $0.15 per 1M input tokens" in shown
