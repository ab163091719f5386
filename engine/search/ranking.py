"""From a need to ranked artifacts: retrieve capabilities (dense and lexical), fuse them, gather
each artifact's evidence, and order artifacts by the probability that they serve the need.

1. Dense top-N by cosine and BM25 top-N (over the need plus the other spellings of its
   abbreviations) are fused with reciprocal-rank fusion; the capabilities of artifacts the need
   names are added even when neither retriever found them.
2. Every candidate capability gets its cosine to the need and the share of the need's
   informative words it contains (``index.lexical.TermMatch``; a word counts as present when one
   of its synonyms is).
3. Capabilities are grouped by artifact; the artifact's evidence combines its best and
   second-best capability (an artifact that serves the need with several capabilities beats
   one that touches it in one sentence), its name, and its kind against the kind asked for.
4. ``RelevanceModel`` turns the evidence into a probability; artifacts are ordered by it, and
   those under the floor are not results (the nearest few are kept as suggestions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matchgraph.engine.search.filters import Facets
from matchgraph.engine.search.relevance import ArtifactEvidence, RelevanceModel
from matchgraph.engine.search.understanding import RELATED_TYPES, Reading
from matchgraph.index.fusion import reciprocal_rank_fusion
from matchgraph.index.lexical import TermMatch, query_tokens
from matchgraph.index.versions import IndexVersion

NEAREST = 3


@dataclass(frozen=True, slots=True)
class Candidate:
    """One capability a search found."""

    row_id: int
    score: float  # reciprocal-rank fusion
    rank: int  # among all fused candidates (named artifacts' extra capabilities come last)
    dense: float | None  # cosine, when the dense side returned it
    lexical: float | None  # BM25, when the lexical side returned it
    cosine: float
    coverage: float


@dataclass(frozen=True)
class RankedArtifact:
    artifact_id: int
    relevance: float  # probability that it serves the need
    capabilities: tuple[Candidate, ...]  # best first
    evidence: ArtifactEvidence


@dataclass(frozen=True)
class Ranking:
    total: int  # artifacts at or above the floor
    page: tuple[RankedArtifact, ...]
    nearest: tuple[RankedArtifact, ...]  # when nothing clears the floor: the closest, not matching


@dataclass(frozen=True)
class RankSettings:
    fusion: str
    rrf_k: int
    dense_weight: float
    lexical_weight: float
    capabilities_per_hit: int
    floor: float


def term_match(version: IndexVersion, query: str, reading: Reading) -> TermMatch:
    """The need's words, each held by the documents that contain it or one of its synonyms."""
    lexical = version.lexical
    match = lexical.match(query)
    for spelling, other in reading.equivalents:
        if not query_tokens(other):
            continue
        docs = lexical.holders_of_all(other)
        for stem in query_tokens(spelling):
            if stem in match.stems:
                match = match.with_spelling(stem, docs)
    return match


def toward_avoided(vector: np.ndarray, reading: Reading, version: IndexVersion, facets: Facets) -> np.ndarray:
    """For "an alternative to X": the need moved halfway toward the centre of X's capabilities,
    so that artifacts doing what X does are found even when the need says little else."""
    rows = [r for r in facets.rows_of(reading.avoid) if r in version.position_of]
    if not rows:
        return vector
    positions = np.array([version.position_of[r] for r in rows], dtype=np.int64)
    centre = np.asarray(version.vectors[positions], dtype=np.float32).mean(axis=0)
    centre /= np.linalg.norm(centre) or 1.0
    moved = vector + centre
    return (moved / (np.linalg.norm(moved) or 1.0)).astype(np.float32)


def candidates(
    query: str, vector: np.ndarray, reading: Reading, match: TermMatch, version: IndexVersion,
    facets: Facets, mask: np.ndarray | None, depth: int, s: RankSettings,
) -> list[Candidate]:
    """``match`` is ``term_match(version, query, reading)``, shared with ``rank_artifacts``."""
    vector = toward_avoided(vector, reading, version, facets)
    dense_ids: list[int] = []
    if s.fusion != "lexical":
        allowed = version.ids[mask] if mask is not None else None
        _, ids = version.dense.search(vector[None, :], depth, allowed)
        dense_ids = [int(i) for i in ids[0] if i >= 0]
    lexical_ids: list[int] = []
    lexical_scores: dict[int, float] = {}
    if s.fusion != "dense":
        scores, positions = version.lexical.search(reading.lexical_text(query), depth, mask)
        for score, pos in zip(scores, positions):
            row_id = int(version.ids[pos])
            lexical_ids.append(row_id)
            lexical_scores[row_id] = float(score)
    weights = {"rrf": (s.dense_weight, s.lexical_weight), "dense": (1.0, 0.0),
               "lexical": (0.0, 1.0)}[s.fusion]
    fused = reciprocal_rank_fusion([dense_ids, lexical_ids], weights, k=s.rrf_k)
    found = {row_id for row_id, _ in fused}
    allowed_rows = None if mask is None else set(version.ids[mask].tolist())
    extra = [r for r in facets.rows_of(reading.named) if r not in found
             and r in version.position_of and (allowed_rows is None or r in allowed_rows)]
    rows = [row_id for row_id, _ in fused] + extra
    if not rows:
        return []
    positions = np.array([version.position_of[r] for r in rows], dtype=np.int64)
    vectors = np.asarray(version.vectors[positions], dtype=np.float32).reshape(len(rows), -1)
    cosines = (vectors @ vector).tolist()
    coverage = match.coverage(positions).tolist()
    dense_set = set(dense_ids)
    fused_scores = [score for _, score in fused] + [0.0] * len(extra)
    found_rows = zip(rows, fused_scores, cosines, coverage)
    return [Candidate(row_id, score, rank, cos if row_id in dense_set else None, lexical_scores.get(row_id),
                      cos, cov)
            for rank, (row_id, score, cos, cov) in enumerate(found_rows, start=1)]


def rank_artifacts(
    cands: Sequence[Candidate], reading: Reading, match: TermMatch, version: IndexVersion, facets: Facets,
    model: RelevanceModel, s: RankSettings, offset: int, limit: int,
) -> Ranking:
    """Group the candidates by artifact, score every artifact's evidence at once, and keep the
    requested page of those at or above the floor (or, when none is, the nearest few)."""
    artifact_of, avoid, position_of = facets.artifact_of, reading.avoid, version.position_of
    rows: list[Candidate] = []
    table: list[tuple[int, float, float, float, int]] = []
    for c in cands:
        a = artifact_of(c.row_id)
        # skip rows deleted since the index was built, and what the need wants an alternative to
        if a is not None and a not in avoid:
            rows.append(c)
            table.append((a, c.cosine, c.coverage, c.score, position_of[c.row_id]))
    if not rows:
        return Ranking(0, (), ())
    columns = np.array(table, dtype=np.float64)
    order = np.lexsort((-columns[:, 1], columns[:, 0]))  # by artifact, best capability first
    columns = columns[order]
    artifact, cosine = columns[:, 0].astype(np.int64), columns[:, 1]
    starts = np.flatnonzero(np.r_[True, artifact[1:] != artifact[:-1]])
    sizes = np.diff(np.r_[starts, len(artifact)])
    ids = artifact[starts]
    firsts = [rows[i] for i in order[starts]]
    cos1 = cosine[starts]
    second = cosine[np.minimum(starts + 1, len(cosine) - 1)]
    # an artifact described by one capability is judged on it alone (its "second" is itself)
    single = np.array([len(facets.rows_by_artifact.get(int(a), ())) == 1 for a in ids])
    cos2 = np.where(sizes > 1, second, np.where(single, cos1, 0.0))
    cov1 = np.maximum.reduceat(columns[:, 2], starts)
    cov_all = match.union_coverage_of(columns[:, 4].astype(np.int64), starts)
    fused = columns[:, 3]
    best_fused = (s.dense_weight + s.lexical_weight) / (s.rrf_k + 1) or 1.0
    fused_best = np.maximum.reduceat(fused, starts) / best_fused
    id_list = ids.tolist()
    named = np.array([a in reading.named for a in id_list], dtype=np.float64)
    share = np.array([reading.name_share.get(a, 0.0) for a in id_list], dtype=np.float64)
    kind = np.zeros(len(ids))
    miss = np.zeros(len(ids))
    if reading.kind_types or reading.kind_categories:
        near_kinds = set(reading.kind_types).union(*(RELATED_TYPES.get(t, ()) for t in reading.kind_types))
        for i, first in enumerate(firsts):
            facet = facets.by_row[first.row_id]
            categories = reading.kind_categories & set(facet.categories)
            kind[i] = facet.type in reading.kind_types or bool(categories)
            miss[i] = not kind[i] and facet.type not in near_kinds
    features = np.column_stack([cos1, cos2, cov1, cov_all, fused_best, named, share, kind, miss])
    probability = np.round(model.probabilities_of(features), 6)
    ranked = np.lexsort((ids, -fused_best, -probability))
    passing = int((probability >= s.floor).sum())
    shown = ranked[offset : offset + limit] if passing else ranked[:NEAREST]
    if passing:
        shown = shown[: max(0, passing - offset)]

    def artifact_at(i: int) -> RankedArtifact:
        caps = sorted((rows[j] for j in order[starts[i] : starts[i] + sizes[i]]),
                      key=lambda c: (-c.score, -c.cosine))
        f = features[i]
        evidence = ArtifactEvidence(int(ids[i]), float(f[0]), float(f[1]), float(f[2]), float(f[3]),
                                    float(f[4]), bool(f[5]), float(f[6]), bool(f[7]), bool(f[8]))
        return RankedArtifact(int(ids[i]), float(probability[i]), tuple(caps[: s.capabilities_per_hit]),
                              evidence)

    page = tuple(artifact_at(int(i)) for i in shown)
    return Ranking(passing, page, ()) if passing else Ranking(0, (), page)
