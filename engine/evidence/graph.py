"""The match graph: artifacts that searches return together, and what kind of pair they are.

A *unit* of evidence is one (client, normalised query, day): repeating a search adds
nothing. Two artifacts are co-matched in a unit when both are in its top ``top_k``
results. Edge weights are normalised counts (Jaccard and normalised PMI) with the
co-match count kept as evidence. An edge is a *substitute* (same job) when the two
artifacts' capabilities are similar in content, else a *complement* (used together).
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING

from matchgraph.engine.store.records import EdgeRow, GraphCounts, MatchUnitRow

if TYPE_CHECKING:  # networkx is imported where a graph is built: a search never needs it
    import networkx as nx

SUBSTITUTE = "substitute"
COMPLEMENT = "complement"
SAME_TYPE_BONUS = 0.1


@dataclass
class GraphBuild:
    edges: list[EdgeRow]
    units: int
    appearances: dict[int, int]  # artifact -> units it was in the top results of
    centrality: dict[int, float]  # PageRank over the co-match graph, 0..1 (max = 1)


def edge_kind(similarity: float, same_type: bool, threshold: float) -> str:
    needed = threshold - SAME_TYPE_BONUS if same_type else threshold
    return SUBSTITUTE if similarity >= needed else COMPLEMENT


def count_units(units: Iterable[MatchUnitRow]) -> GraphCounts:
    """The counters from the whole match log at once (what ``MatchLog.fold_evidence`` keeps up
    to date a few units at a time)."""
    grouped: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    for row in units:
        grouped[(row.client, row.query, row.day)].add(row.artifact_id)
    appearances: Counter[int] = Counter()
    together: Counter[tuple[int, int]] = Counter()
    clients: dict[int, set[str]] = defaultdict(set)
    for (client, _, _), members in grouped.items():
        appearances.update(members)
        together.update(combinations(sorted(members), 2))
        for a in members if client else ():
            clients[a].add(client)
    return GraphCounts(len(grouped), dict(appearances), dict(together),
                       {a: len(c) for a, c in clients.items()})


def graph_from_counts(
    counts: GraphCounts,
    similarity: Callable[[int, int], float],
    types: dict[int, str],
    substitute_similarity: float,
) -> GraphBuild:
    total, appearances = counts.units, counts.appearances
    edges = []
    for (a, b), co in sorted(counts.pairs.items()):
        ca, cb = appearances[a], appearances[b]
        jaccard = co / (ca + cb - co)
        pmi = math.log(co * total / (ca * cb))
        npmi = 1.0 if co == total else pmi / -math.log(co / total)
        sim = similarity(a, b)
        kind = edge_kind(sim, types.get(a) == types.get(b), substitute_similarity)
        edges.append(EdgeRow(a, b, kind, co, round(jaccard, 6), round(npmi, 6), round(sim, 6)))
    return GraphBuild(edges, total, dict(appearances), centrality(edges))


def build_graph(
    units: Iterable[MatchUnitRow],
    similarity: Callable[[int, int], float],
    types: dict[int, str],
    substitute_similarity: float,
) -> GraphBuild:
    return graph_from_counts(count_units(units), similarity, types, substitute_similarity)


def load_graph_library() -> None:
    """Import networkx now. Importing it takes about a quarter of a second of CPU and the
    import lock; a server does it before answering, so its first evidence refresh under load
    does not (a 60-s load run had a 400-650 ms stall there)."""
    import networkx  # noqa: F401


def centrality(edges: Sequence[EdgeRow]) -> dict[int, float]:
    """Weighted PageRank, scaled so the most central artifact has 1."""
    if not edges:
        return {}
    import networkx as nx

    graph = nx.Graph()
    graph.add_weighted_edges_from((e.a, e.b, e.jaccard) for e in edges)
    ranks = nx.pagerank(graph, weight="weight")
    top = max(ranks.values())
    return {int(node): round(value / top, 6) for node, value in ranks.items()}


def to_networkx(edges: Sequence[EdgeRow], nodes: dict[int, dict[str, object]]) -> nx.Graph:
    import networkx as nx

    graph = nx.Graph()
    for node_id, attrs in nodes.items():
        graph.add_node(str(attrs.get("slug", node_id)), **{k: v for k, v in attrs.items() if v is not None})
    for e in edges:
        a = str(nodes.get(e.a, {}).get("slug", e.a))
        b = str(nodes.get(e.b, {}).get("slug", e.b))
        graph.add_edge(a, b, kind=e.kind, co_searches=e.co_searches, weight=e.jaccard,
                       jaccard=e.jaccard, npmi=e.npmi, similarity=e.similarity)
    return graph


def export_graph(graph: nx.Graph, path: Path, fmt: str) -> None:
    """Write GraphML (Gephi, networkx) or node-link JSON (networkx, d3)."""
    import networkx as nx

    if fmt == "graphml":
        nx.write_graphml(graph, path)
    elif fmt == "json":
        path.write_text(json.dumps(nx.node_link_data(graph, edges="edges"), indent=2), encoding="utf-8")
    else:
        raise ValueError(f"unknown graph format {fmt!r}; valid: graphml, json")
