"""View models of the artifact and comparison pages, built from the Matchgraph façade only.

The HTML templates and the Markdown variants read the same view models, so both always
say the same thing. Values stay plain text here; escaping is the renderer's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from matchgraph.engine.errors import IndexNotReady, NotFound
from matchgraph.engine.evidence.scores import LABELS, PARTS
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.recommend.compare import Row, format_price, ways_to_get
from matchgraph.engine.recommend.suggest import Suggestion
from matchgraph.engine.store.records import ArtifactRecord, ScoreRow

NEIGHBOURS_SHOWN = 10


@dataclass(frozen=True)
class Link:
    label: str
    href: str


@dataclass(frozen=True)
class PartView:
    key: str
    label: str
    value: float
    n: int
    low: float
    high: float
    note: str
    known: bool = True  # False: no data; shown as unknown, not as 0


@dataclass(frozen=True)
class CapabilityView:
    cap_id: str
    name: str
    description: str
    unique: str | None
    vs_alternatives: str | None
    best_for: list[str]
    limitations: list[str]
    intents: list[str]
    times_matched: int


@dataclass(frozen=True)
class AlternativeView:
    slug: str
    name: str
    type: str
    reason: str
    co_searches: int


@dataclass(frozen=True)
class NeighbourView:
    row_id: int
    slug: str
    name: str
    kind: str
    co_searches: int
    jaccard: float


@dataclass
class ArtifactView:
    record: ArtifactRecord
    score: float | None
    parts: list[PartView]
    capabilities: list[CapabilityView]
    facts: list[tuple[str, str]]
    links: list[Link]
    alternatives: list[AlternativeView] = field(default_factory=list)
    suggested: list[tuple[str, int]] = field(default_factory=list)
    neighbours: list[NeighbourView] = field(default_factory=list)
    timeline: list[tuple[str, int]] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.record.artifact.slug

    @property
    def name(self) -> str:
        return self.record.artifact.name

    @property
    def compare_targets(self) -> list[tuple[str, str]]:
        """(slug, name) of artifacts worth comparing with: alternatives, then graph neighbours."""
        seen: dict[str, str] = {}
        for slug, name in [(a.slug, a.name) for a in self.alternatives] + [
                (n.slug, n.name) for n in self.neighbours]:
            seen.setdefault(slug, name)
        return list(seen.items())


def compare_path(a: str, b: str) -> str:
    return f"/compare/{a}-vs-{b}"


def parts_of(row: ScoreRow | None) -> list[PartView]:
    if row is None:
        return []
    out = []
    for key in PARTS:
        part = row.parts.get(key)
        if isinstance(part, dict):
            out.append(PartView(key, LABELS[key], float(part.get("value", 0.0)), int(part.get("n", 0)),
                                float(part.get("low", 0.0)), float(part.get("high", 0.0)),
                                str(part.get("note", "")), bool(part.get("known", True))))
    return out


def capabilities_of(record: ArtifactRecord) -> list[CapabilityView]:
    a = record.artifact
    return [
        CapabilityView(a.capability_id(c), c.name, c.description, c.unique, c.vs_alternatives,
                       list(c.best_for), list(c.limitations), list(c.intents),
                       record.capability_times_matched.get(a.capability_id(c), 0))
        for c in a.capabilities
    ]


def facts_of(record: ArtifactRecord) -> tuple[list[tuple[str, str]], list[Link]]:
    a = record.artifact
    facts = [("Type", a.type.value)]
    if a.maintainer:
        facts.append(("Maintainer", a.maintainer))
    facts += [("License", a.license or "not stated"), ("Pricing", ways_to_get(a.pricing)),
              ("Starting price", format_price(a.pricing.starting_price))]
    adoption = [(label, a.adoption.value_of(key)) for key, label in
                (("github_stars", "GitHub stars"), ("downloads", "Downloads"), ("likes", "Likes"))]
    facts += [(label, f"{value:,.0f}") for label, value in adoption if value is not None]
    if a.categories:
        facts.append(("Categories", ", ".join(a.categories)))
    if a.tags:
        facts.append(("Tags", ", ".join(a.tags)))
    if a.updated_at:
        facts.append(("Updated", a.updated_at.isoformat()))
    facts.append(("Times matched", f"{record.times_matched:,}"))
    links = [Link(label, url) for label, url in
             (("Homepage", a.homepage), ("Repository", a.repository), ("Docs", a.docs))
             if url and url.startswith(("https://", "http://"))]
    return facts, links


def alternative_view(suggestion: Suggestion, record: ArtifactRecord) -> AlternativeView:
    a = record.artifact
    return AlternativeView(a.slug, a.name, a.type.value, suggestion.reason, suggestion.co_searches)


def alternatives_for(mg: Matchgraph, slugs: list[str], limit: int = 5) -> list[AlternativeView]:
    """“Need something different?”; empty while no index is served yet."""
    try:
        found = mg.alternatives(slugs, limit)
    except IndexNotReady:
        return []
    return [alternative_view(s, r) for s, r in found]


def artifact_view(mg: Matchgraph, slug: str) -> ArtifactView:
    record, neighbours = mg.neighbours(slug)
    facts, links = facts_of(record)
    row = mg.score(record.row_id)
    return ArtifactView(
        record=record, score=row.score if row else None, parts=parts_of(row),
        capabilities=capabilities_of(record), facts=facts, links=links,
        alternatives=alternatives_for(mg, [slug]),
        suggested=mg.suggested_searches([slug]),
        neighbours=[NeighbourView(other.row_id, other.artifact.slug, other.artifact.name, edge.kind,
                                  edge.co_searches, edge.jaccard)
                    for edge, other in neighbours[:NEIGHBOURS_SHOWN]],
        timeline=mg.timeline(slug),
    )


# -- A vs B ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SideView:
    slug: str
    name: str
    type: str
    score: float | None
    parts: list[PartView]
    capabilities: list[CapabilityView]


@dataclass
class CompareView:
    a: SideView
    b: SideView
    summary: str
    rows: list[Row]
    aligned: list[tuple[CapabilityView, CapabilityView, float]]
    only_a: list[CapabilityView]
    only_b: list[CapabilityView]
    verdict: str
    alternatives: list[AlternativeView]
    suggested: list[tuple[str, int]]

    @property
    def title(self) -> str:
        return f"{self.a.name} vs {self.b.name}"

    @property
    def canonical_path(self) -> str:
        first, second = sorted((self.a.slug, self.b.slug))
        return compare_path(first, second)


def compare_view(mg: Matchgraph, slug_a: str, slug_b: str) -> CompareView:
    c = mg.compare(slug_a, slug_b)
    sides = []
    for side in (c.a, c.b):
        sides.append(SideView(side.artifact.slug, side.artifact.name, side.artifact.type.value,
                              side.score.score if side.score else None, parts_of(side.score),
                              capabilities_of(side.record)))
    a, b = sides
    caps = {cap.cap_id: cap for cap in [*a.capabilities, *b.capabilities]}
    return CompareView(
        a=a, b=b, summary=c.summary, rows=c.rows,
        aligned=[(caps[x], caps[y], sim) for x, y, sim in c.aligned if x in caps and y in caps],
        only_a=[caps[x] for x in c.only_a if x in caps],
        only_b=[caps[x] for x in c.only_b if x in caps],
        verdict=c.verdict,
        alternatives=[alternative_view(s, r) for s, r in c.alternatives],
        suggested=c.suggested_searches,
    )


def split_pair(mg: Matchgraph, pair: str) -> tuple[str, str] | None:
    """``a-vs-b`` where slugs may contain "-" (even "-vs-"): the first split whose sides both exist."""
    known: dict[str, bool] = {}

    def exists(slug: str) -> bool:
        if slug not in known:
            try:
                mg.get_artifact(slug)
                known[slug] = True
            except NotFound:
                known[slug] = False
        return known[slug]

    start = 0
    while (at := pair.find("-vs-", start)) != -1:
        a, b = pair[:at], pair[at + 4:]
        if a and b and exists(a) and exists(b):
            return a, b
        start = at + 1
    return None
