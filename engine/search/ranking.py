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
    if not reading.equivalents:
        return match
    holders = list(match.holders)
    for spelling, other in reading.equivalents:
        if not query_tokens(other):
            continue
        other_match = lexical.match(other)
        docs = other_match.holders[0]
        for more in other_match.holders[1:]:
            docs = np.intersect1d(docs, more)
        for stem in query_tokens(spelling):
            if stem in match.stems:
                i = match.stems.index(stem)
                holders[i] = np.union1d(holders[i], docs)
    return TermMatch(match.stems, match.idf, tuple(holders))


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
    cosines = vectors @ vector
    coverage = match.coverage(positions)
    dense_set = set(dense_ids)
    out = []
    for rank, row_id in enumerate(rows, start=1):
        i = rank - 1
        score = fused[i][1] if i < len(fused) else 0.0
        out.append(Candidate(row_id, score, rank, float(cosines[i]) if row_id in dense_set else None,
                             lexical_scores.get(row_id), float(cosines[i]), float(coverage[i])))
    return out


def rank_artifacts(
    cands: Sequence[Candidate], reading: Reading, match: TermMatch, version: IndexVersion, facets: Facets,
    model: RelevanceModel, s: RankSettings,
) -> list[RankedArtifact]:
    groups: dict[int, list[Candidate]] = {}
    for cand in cands:
        artifact_id = facets.artifact_of(cand.row_id)
        # skip rows deleted since the index was built, and what the need wants an alternative to
        if artifact_id is not None and artifact_id not in reading.avoid:
            groups.setdefault(artifact_id, []).append(cand)
    best_fused = (s.dense_weight + s.lexical_weight) / (s.rrf_k + 1) or 1.0
    unions: Sequence[float] = []
    if groups:
        positions = [np.array([version.position_of[c.row_id] for c in caps]) for caps in groups.values()]
        unions = list(match.union_coverage(positions))
    asked = bool(reading.kind_types or reading.kind_categories)
    near_kinds = set(reading.kind_types).union(*(RELATED_TYPES.get(t, ()) for t in reading.kind_types))
    ranked = []
    for (artifact_id, caps), cov_all in zip(groups.items(), unions):
        facet = facets.by_row[caps[0].row_id]
        cos = sorted((c.cosine for c in caps), reverse=True)
        kind = facet.type in reading.kind_types or bool(reading.kind_categories & set(facet.categories))
        # an artifact described by one capability is judged on it alone (its "second" is itself)
        single = len(facets.rows_by_artifact.get(artifact_id, ())) == 1
        second = cos[1] if len(cos) > 1 else (cos[0] if single else 0.0)
        evidence = ArtifactEvidence(
            artifact_id, cos[0], second, max(c.coverage for c in caps),
            float(cov_all), max(c.score for c in caps) / best_fused, artifact_id in reading.named,
            reading.name_share.get(artifact_id, 0.0), kind,
            asked and not kind and facet.type not in near_kinds,
        )
        ordered = tuple(sorted(caps, key=lambda c: (-c.score, -c.cosine))[: s.capabilities_per_hit])
        ranked.append(RankedArtifact(artifact_id, round(model.probability(evidence), 6), ordered, evidence))
    ranked.sort(key=lambda r: (-r.relevance, -r.evidence.fused, r.artifact_id))
    return ranked


def paged(ranked: Sequence[RankedArtifact], offset: int, limit: int, floor: float) -> Ranking:
    passing = [r for r in ranked if r.relevance >= floor]
    if not passing:
        return Ranking(0, (), tuple(ranked[:NEAREST]))
    return Ranking(len(passing), tuple(passing[offset : offset + limit]), ())
