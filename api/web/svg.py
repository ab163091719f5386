"""Geometry for the pictures the pages draw as inline SVG.

This module only computes numbers and short labels; the templates (``_svg.html``) turn
them into SVG elements with autoescaping, so no markup is ever built from strings here.
Every layout is deterministic: the same data gives the same picture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import networkx as nx

BAR_X = 118.0
BAR_W = 180.0
ROW_H = 30.0
LABEL_CHARS = 20
LEGEND_H = 44.0
SPARK_W, SPARK_H, SPARK_PAD = 320.0, 72.0, 6.0
MAX_SPARK_DAYS = 180


def short(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- score parts --------------------------------------------------------------------------
@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    n: int
    y: float
    width: float
    low_x: float
    high_x: float
    known: bool = True


@dataclass(frozen=True)
class Bars:
    bars: list[Bar]
    height: float
    bar_x: float = BAR_X
    bar_w: float = BAR_W


def score_bars(parts: Sequence[tuple[str, float, int, float, float, bool]]) -> Bars:
    """(label, value, n, low, high, known) per part -> one bar per row with its interval (an
    unknown part gets an empty track)."""
    bars = []
    for i, (label, value, n, low, high, known) in enumerate(parts):
        bars.append(Bar(label, value, n, 8 + i * ROW_H, round(BAR_W * _unit(value), 1) if known else 0.0,
                        round(BAR_X + BAR_W * _unit(low), 1), round(BAR_X + BAR_W * _unit(high), 1), known))
    return Bars(bars, 16 + len(bars) * ROW_H)


@dataclass(frozen=True)
class PairBar:
    label: str
    y: float
    a: float
    b: float
    width_a: float
    width_b: float


def paired_bars(parts: Sequence[tuple[str, float, float]]) -> tuple[list[PairBar], float]:
    """(label, value of A, value of B) per part -> two thin bars per row."""
    rows = [PairBar(label, 8 + i * 34.0, a, b, round(BAR_W * _unit(a), 1), round(BAR_W * _unit(b), 1))
            for i, (label, a, b) in enumerate(parts)]
    return rows, 16 + len(rows) * 34.0


def _unit(x: float) -> float:
    return min(1.0, max(0.0, float(x)))


# -- times matched over time ---------------------------------------------------------------
@dataclass(frozen=True)
class Spark:
    points: str
    area: str
    first_day: str
    last_day: str
    total: int
    peak: int
    peak_day: str
    days: int
    width: float = SPARK_W
    height: float = SPARK_H


def sparkline(timeline: Sequence[tuple[str, int]], today: date | None = None) -> Spark | None:
    """Daily counts (gaps filled with zeros) up to ``today``, the last ``MAX_SPARK_DAYS`` days."""
    if not timeline:
        return None
    counts = {date.fromisoformat(d): n for d, n in timeline}
    end = max(max(counts), today or max(counts))
    start = max(min(counts), end - timedelta(days=MAX_SPARK_DAYS - 1))
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    if len(days) == 1:  # a single day still draws a short flat line
        days = [start - timedelta(days=1), start]
    values = [counts.get(d, 0) for d in days]
    peak = max(values) or 1
    step = (SPARK_W - 2 * SPARK_PAD) / (len(days) - 1)
    xy = [(SPARK_PAD + i * step, SPARK_H - SPARK_PAD - (SPARK_H - 2 * SPARK_PAD) * v / peak)
          for i, v in enumerate(values)]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    base = SPARK_H - SPARK_PAD
    area = f"{xy[0][0]:.1f},{base:.1f} {points} {xy[-1][0]:.1f},{base:.1f}"
    best = max(range(len(values)), key=lambda i: (values[i], i))
    shown = sum(values)
    return Spark(points, area, days[0].isoformat(), days[-1].isoformat(), shown, values[best],
                 days[best].isoformat(), len(days))


# -- match graph ---------------------------------------------------------------------------
@dataclass
class Node:
    key: int
    slug: str
    name: str
    role: str  # focus | hit | neighbour
    x: float = 0.0
    y: float = 0.0

    @property
    def label(self) -> str:
        return short(self.name)

    @property
    def radius(self) -> float:
        return {"focus": 14.0, "hit": 10.0}.get(self.role, 7.0)


@dataclass(frozen=True)
class Edge:
    a: int
    b: int
    kind: str  # substitute | complement
    co_searches: int
    jaccard: float

    @property
    def width(self) -> float:
        return round(1.0 + 4.0 * _unit(self.jaccard), 2)


@dataclass
class Picture:
    nodes: list[Node]
    edges: list[Edge]
    width: float
    height: float
    lines: list[tuple[Edge, float, float, float, float]] = field(default_factory=list)

    @property
    def legend_y(self) -> float:
        return self.height - LEGEND_H + 14

    def connect(self) -> Picture:
        at = {n.key: n for n in self.nodes}
        self.lines = [(e, at[e.a].x, at[e.a].y, at[e.b].x, at[e.b].y)
                      for e in self.edges if e.a in at and e.b in at]
        return self


def radial(focus: Node, around: Sequence[Node], edges: Sequence[Edge],
           width: float = 420.0, height: float = 330.0) -> Picture:
    """The focus in the middle, its neighbours on a circle (strongest first, from the top)."""
    usable = height - LEGEND_H
    focus.x, focus.y = width / 2, usable / 2
    radius = min(width, usable) / 2 - 34
    for i, node in enumerate(around):
        angle = -math.pi / 2 + 2 * math.pi * i / max(1, len(around))
        node.x = round(focus.x + radius * 1.25 * math.cos(angle), 1)
        node.y = round(focus.y + radius * math.sin(angle), 1)
    return Picture([focus, *around], list(edges), width, height).connect()


def spring(nodes: Sequence[Node], edges: Sequence[Edge], width: float = 800.0,
           height: float = 580.0, seed: int = 7) -> Picture:
    """A seeded force-directed layout (networkx), scaled into the picture with margins."""
    graph = nx.Graph()
    graph.add_nodes_from(sorted(n.key for n in nodes))
    for e in sorted(edges, key=lambda e: (e.a, e.b)):
        graph.add_edge(e.a, e.b, weight=0.2 + e.jaccard)
    if len(nodes) == 1:
        positions = {nodes[0].key: (0.0, 0.0)}
    else:
        positions = nx.spring_layout(graph, seed=seed, iterations=80, weight="weight")
    xs = [float(p[0]) for p in positions.values()]
    ys = [float(p[1]) for p in positions.values()]
    margin_x, margin_y = 90.0, 40.0
    for node in nodes:
        px, py = positions[node.key]
        node.x = round(margin_x + _fraction(float(px), xs) * (width - 2 * margin_x), 1)
        node.y = round(margin_y + _fraction(float(py), ys) * (height - LEGEND_H - 2 * margin_y), 1)
    return Picture(list(nodes), list(edges), width, height).connect()


def _fraction(value: float, values: list[float]) -> float:
    low, high = min(values), max(values)
    return 0.5 if high - low < 1e-9 else (value - low) / (high - low)
