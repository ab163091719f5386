"""The match graph around an artifact or a query, gathered through the façade and laid out
as a picture (``svg.Picture``) plus the tables that say the same thing in text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.store.records import ArtifactRecord, EdgeRow

from . import svg
from .views import ArtifactView

HITS = 8
PER_NODE = 5
MAX_NODES = 36
AROUND = 12


@dataclass
class GraphView:
    picture: svg.Picture
    slugs: dict[int, str]
    names: dict[int, str]

    @property
    def edges(self) -> list[svg.Edge]:
        return sorted(self.picture.edges, key=lambda e: (-e.co_searches, -e.jaccard, e.a, e.b))

    @property
    def substitutes(self) -> int:
        return sum(e.kind == "substitute" for e in self.picture.edges)

    @property
    def complements(self) -> int:
        return sum(e.kind == "complement" for e in self.picture.edges)


def _edge(e: EdgeRow) -> svg.Edge:
    return svg.Edge(e.a, e.b, e.kind, e.co_searches, e.jaccard)


def neighbourhood(view: ArtifactView) -> svg.Picture:
    """The small picture on an artifact page: the artifact and its strongest neighbours."""
    focus = svg.Node(view.record.row_id, view.slug, view.name, "focus")
    shown = view.neighbours[:AROUND]
    around = [svg.Node(n.row_id, n.slug, n.name, "neighbour") for n in shown]
    edges = [svg.Edge(view.record.row_id, n.row_id, n.kind, n.co_searches, n.jaccard) for n in shown]
    return svg.radial(focus, around, edges)


def explore(mg: Matchgraph, seeds: Sequence[ArtifactRecord], focus: str | None = None) -> GraphView:
    """Seeds (search hits, or one artifact), their strongest neighbours, and every edge among them.

    With one focus artifact the walk goes two steps out, so there is something to explore.
    """
    records: dict[int, ArtifactRecord] = {r.row_id: r for r in seeds}
    roles = {r.row_id: ("focus" if r.artifact.slug == focus else "hit") for r in seeds}
    edges: dict[tuple[int, int], svg.Edge] = {}
    frontier = list(seeds)
    for _ in range(2 if focus else 1):
        found: list[ArtifactRecord] = []
        for record in frontier:
            _, neighbours = mg.neighbours(record.artifact.slug)
            for edge, other in neighbours[:PER_NODE]:
                if other.row_id not in records and len(records) < MAX_NODES:
                    records[other.row_id] = other
                    roles[other.row_id] = "neighbour"
                    found.append(other)
                if other.row_id in records:
                    edges[(edge.a, edge.b)] = _edge(edge)
        frontier = found
    for record in frontier:  # the outer ring's edges among nodes already drawn
        for edge, other in mg.neighbours(record.artifact.slug)[1]:
            if other.row_id in records:
                edges[(edge.a, edge.b)] = _edge(edge)
    nodes = [svg.Node(i, r.artifact.slug, r.artifact.name, roles[i]) for i, r in sorted(records.items())]
    picture = svg.spring(nodes, list(edges.values()))
    return GraphView(picture, {i: r.artifact.slug for i, r in records.items()},
                     {i: r.artifact.name for i, r in records.items()})
