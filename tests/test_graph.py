from __future__ import annotations

import math

import pytest

from matchgraph.engine.evidence.graph import COMPLEMENT, SUBSTITUTE, build_graph, edge_kind
from matchgraph.engine.store.records import MatchUnitRow


def unit(client: str, query: str, *artifacts: int, day: str = "2026-11-01") -> list[MatchUnitRow]:
    return [MatchUnitRow(client, query, day, a) for a in artifacts]


def test_co_matching_counts_units_and_normalises_weights() -> None:
    rows = (
        unit("alice", "q1", 1, 2)
        + unit("alice", "q1", 1, 2)  # the same unit again adds nothing
        + unit("bob", "q1", 1, 2)
        + unit("bob", "q2", 1, 3)
        + unit("bob", "q2", 1, 3, day="2026-11-02")
        + unit("carol", "q3", 4)
    )
    sims = {(1, 2): 0.9, (1, 3): 0.1}
    types = {1: "model", 2: "model", 3: "repo", 4: "api"}
    g = build_graph(rows, lambda a, b: sims.get((a, b), 0.0), types, substitute_similarity=0.5)
    assert g.units == 5
    assert g.appearances == {1: 4, 2: 2, 3: 2, 4: 1}
    edges = {(e.a, e.b): e for e in g.edges}
    assert set(edges) == {(1, 2), (1, 3)}
    e12 = edges[(1, 2)]
    assert e12.co_searches == 2 and e12.kind == SUBSTITUTE
    assert e12.jaccard == pytest.approx(2 / (4 + 2 - 2))
    pmi = math.log(2 * 5 / (4 * 2))
    assert e12.npmi == pytest.approx(pmi / -math.log(2 / 5), abs=1e-6)
    assert edges[(1, 3)].kind == COMPLEMENT
    assert g.centrality[1] == 1.0 and 0 < g.centrality[3] < 1.0
    assert 4 not in g.centrality  # no edges, no centrality


def test_edge_kind_threshold_is_lower_for_the_same_type() -> None:
    assert edge_kind(0.45, same_type=True, threshold=0.5) == SUBSTITUTE
    assert edge_kind(0.45, same_type=False, threshold=0.5) == COMPLEMENT
    assert edge_kind(0.55, same_type=False, threshold=0.5) == SUBSTITUTE


def test_no_evidence_gives_an_empty_graph() -> None:
    g = build_graph([], lambda a, b: 0.0, {}, 0.5)
    assert g.edges == [] and g.units == 0 and g.centrality == {}
