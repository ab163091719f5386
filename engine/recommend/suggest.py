"""“Need something different?”: alternatives that blend content similarity with match-graph
neighbours, diversified with maximal marginal relevance, each with a reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matchgraph.engine.search.content import ContentSpace
from matchgraph.engine.store.records import ArtifactRecord, EdgeRow

CONTENT_WEIGHT = 0.7
MMR_LAMBDA = 0.7
SHARED_THRESHOLD = 0.6
POOL = 50


@dataclass(frozen=True)
class Suggestion:
    artifact_id: int
    relevance: float
    similarity: float
    co_searches: int
    shared: list[tuple[int, int, float]]  # (capability of the page artifact, of this one, cosine)
    reason: str


Alternative = tuple[Suggestion, ArtifactRecord]


def suggest(
    content: ContentSpace,
    page: Sequence[int],
    edges: Sequence[EdgeRow],
    cap_names: dict[int, str],
    limit: int = 5,
    exclude: Sequence[int] = (),
) -> list[Suggestion]:
    """Alternatives to the artifacts on a page (one artifact page, or both sides of a compare)."""
    skip = set(page) | set(exclude)
    similarity: dict[int, float] = {}
    for artifact_id in page:
        for other, sim in content.similar_artifacts(artifact_id).items():
            similarity[other] = max(similarity.get(other, -1.0), sim)
    graph: dict[int, tuple[float, int]] = {}
    for e in edges:
        for here, there in ((e.a, e.b), (e.b, e.a)):
            if here in page and there not in skip:
                weight, count = graph.get(there, (0.0, 0))
                graph[there] = (max(weight, e.jaccard), count + e.co_searches)
    pool = sorted((a for a in similarity if a not in skip), key=lambda a: -similarity[a])[:POOL]
    candidates = sorted(set(pool) | set(graph))
    relevance = {
        c: CONTENT_WEIGHT * max(0.0, similarity.get(c, 0.0))
        + (1 - CONTENT_WEIGHT) * graph.get(c, (0.0, 0))[0]
        for c in candidates
    }
    chosen: list[int] = []
    while candidates and len(chosen) < limit:
        def mmr(c: int) -> tuple[float, int]:
            redundancy = max((content.similarity(c, s) for s in chosen), default=0.0)
            return (MMR_LAMBDA * relevance[c] - (1 - MMR_LAMBDA) * redundancy, -c)

        best = max(candidates, key=mmr)
        chosen.append(best)
        candidates.remove(best)
    out = []
    for c in chosen:
        shared: list[tuple[int, int, float]] = []
        for artifact_id in page:
            shared += [p for p in content.align(artifact_id, c, SHARED_THRESHOLD).pairs]
        co = graph.get(c, (0.0, 0))[1]
        out.append(Suggestion(c, round(relevance[c], 4), round(similarity.get(c, 0.0), 4), co,
                              shared, _reason(shared, co, cap_names, similarity.get(c, 0.0))))
    return out


def _reason(shared: list[tuple[int, int, float]], co: int, names: dict[int, str], sim: float) -> str:
    bits = []
    if shared:
        labels = list(dict.fromkeys(names.get(b, "?") for _, b, _ in shared))
        more = f" and {len(labels) - 3} more" if len(labels) > 3 else ""
        bits.append(f"shares {len(labels)} capabilit{'y' if len(labels) == 1 else 'ies'}: "
                    + ", ".join(labels[:3]) + more)
    if co:
        bits.append(f"matched together in {co} search{'es' if co != 1 else ''}")
    if not bits:
        bits.append(f"similar in what it does (similarity {sim:.2f})")
    return "; ".join(bits)
