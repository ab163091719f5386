"""“A vs B”: the table, both capability lists with their alignment, and a verdict written
from the numbers (deterministic for the same data)."""

from __future__ import annotations

from dataclasses import dataclass

from matchgraph.engine.catalog.models import (
    Artifact,
    Capability,
    OfferKind,
    PriceOffer,
    Pricing,
    PricingModel,
    StartingPrice,
)
from matchgraph.engine.evidence.scores import LABELS, PARTS
from matchgraph.engine.recommend.suggest import Alternative
from matchgraph.engine.store.records import ArtifactRecord, ScoreRow

TIE_POINTS = 1.0
CLOSE_POINTS = 3.0
LEAD = 0.05
THIN_EVIDENCE = 5
PRICING_LABELS = {
    PricingModel.free: "Free", PricingModel.freemium: "Freemium", PricingModel.paid: "Paid",
    PricingModel.open_source: "Open source", PricingModel.usage_based: "Usage-based",
}
ARTICLES = {"api": "an", "app": "an", "agent": "an", "extension": "an", "mcp": "an"}


PER_MILLION = ("token", "character", "char", "request", "call", "query", "image", "second")


def format_price(price: StartingPrice | PriceOffer | None) -> str:
    """The way people quote prices: "$0.15 per 1M input tokens", "$20 per month"; a tiny price
    per token (or character, request …) is given per million of them."""
    if price is None or price.amount is None:
        return "—"
    symbol = "$" if price.currency == "USD" else f"{price.currency} "
    amount, unit = price.amount, price.unit or "use"
    if 0 < amount < 0.01 and unit.split()[-1].rstrip("s") in PER_MILLION and not unit[:1].isdigit():
        amount, unit = amount * 1_000_000, f"1M {unit.rstrip('s')}s"
    if amount == 0:
        text = "0"
    elif amount < 0.001:
        mantissa, exponent = f"{amount:.2e}".split("e")
        text = f"{mantissa}e{int(exponent)}"
    elif amount < 0.01:
        text = f"{amount:.4g}"
    elif amount == int(amount):
        text = f"{int(amount):,}"
    else:
        text = f"{amount:,.2f}"
    return f"{symbol}{text} per {unit}"


OFFER_LABELS = {
    OfferKind.open_weights: "Open weights", OfferKind.open_source: "Open source",
    OfferKind.self_hosted: "Self-hosted", OfferKind.api: "API", OfferKind.subscription: "Subscription",
    OfferKind.free: "Free", OfferKind.enterprise: "Enterprise", OfferKind.one_time: "One-time purchase",
}
FREE_TO_USE = (OfferKind.open_weights, OfferKind.open_source, OfferKind.free)


def free_to_use(pricing: Pricing) -> bool:
    """Usable without paying: free, a free tier, or weights/code under an open licence."""
    return (pricing.free_tier or pricing.model in (PricingModel.free, PricingModel.open_source)
            or any(o.kind in FREE_TO_USE for o in pricing.offers))


def offer_label(offer: PriceOffer) -> str:
    """ "Open weights (Apache-2.0)", "API from Mistral AI: $0.15 per 1M input tokens"."""
    label = OFFER_LABELS[offer.kind]
    if offer.license:
        label += f" ({offer.license})"
    if offer.provider and offer.kind not in FREE_TO_USE:
        label += f" from {offer.provider}"
    if offer.amount is not None:
        label += f": {format_price(offer)}"
    return label


def ways_to_get(pricing: Pricing) -> str:
    """Every way to get it, one per kind and provider, or the pricing model when none is listed."""
    if not pricing.offers:
        return pricing_label(pricing)
    return " · ".join(dict.fromkeys(offer_label(o) for o in pricing.offers))


def pricing_label(pricing: Pricing) -> str:
    label = PRICING_LABELS[pricing.model]
    if pricing.free_tier and pricing.model not in (PricingModel.free, PricingModel.open_source):
        label += " (free tier)"
    return label


@dataclass(frozen=True)
class Side:
    record: ArtifactRecord
    score: ScoreRow | None

    @property
    def artifact(self) -> Artifact:
        return self.record.artifact

    @property
    def points(self) -> float:
        return self.score.score if self.score else 0.0

    def part(self, name: str) -> float:
        if self.score is None:
            return 0.0
        return float(self.score.parts[name]["value"])  # type: ignore[index,arg-type]

    def known(self, name: str) -> bool:
        part = self.score.parts[name] if self.score is not None else None
        return isinstance(part, dict) and bool(part.get("known", True))

    def part_text(self, name: str) -> str:
        return f"{self.part(name):.2f}" if self.known(name) else "unknown"


@dataclass(frozen=True)
class Row:
    label: str
    a: str
    b: str


def table(a: Side, b: Side) -> list[Row]:
    def score(side: Side) -> str:
        return f"{side.points:.0f}/100" if side.score else "not ranked yet"

    rows = [
        Row("Type", a.artifact.type.value, b.artifact.type.value),
        Row("Score", score(a), score(b)),
    ]
    rows += [Row(LABELS[p], a.part_text(p), b.part_text(p)) for p in PARTS if p != "freshness"]
    rows += [
        Row("Freshness", a.part_text("freshness"), b.part_text("freshness")),
        Row("Pricing", ways_to_get(a.artifact.pricing), ways_to_get(b.artifact.pricing)),
        Row("Starting Price", format_price(a.artifact.pricing.starting_price),
            format_price(b.artifact.pricing.starting_price)),
        Row("Capabilities", f"{len(a.artifact.capabilities)} decomposed",
            f"{len(b.artifact.capabilities)} decomposed"),
        Row("Times Matched", str(a.record.times_matched), str(b.record.times_matched)),
    ]
    return rows


def _names(parts: list[str]) -> str:
    labels = [LABELS[p] for p in parts]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _kind(type_: str) -> str:
    return f"{ARTICLES.get(type_, 'a')} {type_}"


def _io(values: list[str]) -> set[str]:
    return {v.strip().lower() for v in values if v.strip()}


def same_job(x: Capability, y: Capability) -> bool:
    """Whether two capabilities can be compared: the same kind of output from the same kind of
    input, where both say (reading an image is not drawing one)."""
    def overlap(p: list[str], q: list[str]) -> bool:
        a, b = _io(p), _io(q)
        return not a or not b or bool(a & b)

    return overlap(x.output_types, y.output_types) and overlap(x.input_types, y.input_types)


def direction(artifact: Artifact) -> str:
    """What it mostly turns into what: "text, image → text"."""
    inputs = sorted({t for c in artifact.capabilities for t in _io(c.input_types)})
    outputs = sorted({t for c in artifact.capabilities for t in _io(c.output_types)})
    if not outputs:
        return f"its own {artifact.type.value} job"
    return f"{', '.join(inputs) or 'input'} → {', '.join(outputs)}"


def verdict(a: Side, b: Side, shared: int) -> str:
    """A paragraph that says who scores higher, where each leads, price and caveats; when no
    capability of one does the other's job, it says they do different jobs instead."""
    na, nb = a.artifact.name, b.artifact.name
    if a.score is None or b.score is None:
        return f"{na} and {nb} have not been ranked yet; run `matchgraph rank` to score them."
    if not shared:
        return " ".join([
            f"{na} and {nb} do different jobs: none of their capabilities takes the same kind of input "
            f"to the same kind of output ({na}: {direction(a.artifact)}; {nb}: {direction(b.artifact)}).",
            f"Their scores ({a.points:.0f}/100 and {b.points:.0f}/100) place each among artifacts of its "
            "own kind and do not make one better at the other's job.",
            *_pricing_lines(a, b),
        ])
    first, second = (a, b) if (a.points, na) >= (b.points, nb) else (b, a)
    gap = first.points - second.points
    if gap < TIE_POINTS:
        lines = [f"{na} and {nb} are tied at {first.points:.0f}/100."]
    elif gap < CLOSE_POINTS:
        lines = [f"{first.artifact.name} edges out {second.artifact.name}, {first.points:.0f}/100 "
                 f"to {second.points:.0f}/100, a gap smaller than the evidence can settle."]
    else:
        lines = [f"{first.artifact.name} scores higher at {first.points:.0f}/100 vs "
                 f"{second.artifact.name} at {second.points:.0f}/100."]
    for side, other in ((first, second), (second, first)):
        both = [p for p in PARTS if side.known(p) and other.known(p)]
        leads = [p for p in both if side.part(p) - other.part(p) >= LEAD]
        if leads:
            lines.append(f"{side.artifact.name} leads on {_names(leads)}.")
    lines += _pricing_lines(a, b)
    ta, tb = a.artifact.type.value, b.artifact.type.value
    if ta != tb:
        lines.append(f"Caveat: this compares {_kind(ta)} with {_kind(tb)}; weigh the capabilities "
                     "below rather than the score alone.")
    thin = [s for s in (a, b) if s.record.times_matched < THIN_EVIDENCE]
    if thin:
        who = " and ".join(f"{s.artifact.name} ({s.record.times_matched})" for s in thin)
        lines.append(f"Evidence is thin: searches have matched {who} fewer than {THIN_EVIDENCE} "
                     "times, so their Match Graph parts say little yet.")
    lines.append(f"{shared} of their capabilities {'lines' if shared == 1 else 'line'} up one to one; "
                 "the rest are unique to one side.")
    return " ".join(lines)


def _pricing_lines(a: Side, b: Side) -> list[str]:
    lines = []
    fa, fb = free_to_use(a.artifact.pricing), free_to_use(b.artifact.pricing)
    if fa != fb:
        free, paid = (a, b) if fa else (b, a)
        start = paid.artifact.pricing.starting_price
        only = f"Only {free.artifact.name} can be used for free"
        lines.append(f"{only}; {paid.artifact.name} starts at {format_price(start)}." if start
                     else f"{only}.")
    elif fa and fb:
        lines.append("Both can be used for free.")
    pa, pb = a.artifact.pricing.starting_price, b.artifact.pricing.starting_price
    if pa and pb and pa.unit != pb.unit:
        lines.append(f"Their prices are per different units ({pa.unit} vs {pb.unit}), so they do not "
                     "compare directly.")
    return lines


def summary(a: Side, b: Side) -> str:
    return (f"{a.artifact.name} ({a.points:.0f}/100) and {b.artifact.name} ({b.points:.0f}/100) "
            "side by side: scores with their evidence, capabilities aligned one to one, and a verdict.")


@dataclass(frozen=True)
class Comparison:
    """The whole "A vs B" page, built once here and rendered by the API, the CLI and the web."""

    a: Side
    b: Side
    rows: list[Row]
    aligned: list[tuple[str, str, float]]  # (capability id of A, of B, cosine)
    only_a: list[str]
    only_b: list[str]
    verdict: str
    summary: str
    alternatives: list[Alternative]  # "Need something different?"
    suggested_searches: list[tuple[str, int]]  # (query, distinct searches)

    @property
    def title(self) -> str:
        return f"{self.a.artifact.name} vs {self.b.artifact.name}"
