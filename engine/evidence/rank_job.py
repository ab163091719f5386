"""The graph + rank job: fold match units and feedback into the match graph and the scores.

Everything it reads is in the database (plus the index version's vectors, themselves
derived from the catalog), and ``as_of`` is stored with the run, so a run can be
reproduced from the database alone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from matchgraph.engine.catalog.models import Artifact
from matchgraph.engine.evidence.graph import graph_from_counts
from matchgraph.engine.evidence.scores import (
    PARTS,
    Part,
    adoption_part,
    adoption_references,
    ecosystem_part,
    freshness_part,
    match_graph_part,
    quality_part,
    weighted_score,
    weights_for,
)
from matchgraph.engine.search.content import ContentSpace
from matchgraph.engine.settings import RankingSettings
from matchgraph.engine.store.contracts import Stores
from matchgraph.engine.store.reading import RecordReader
from matchgraph.engine.store.records import RankRun, ScoreRow

_TOKEN = re.compile(r"[a-z0-9][a-z0-9.+]*")


@dataclass(frozen=True)
class RankSummary:
    run_id: int
    as_of: date
    artifacts: int
    edges: int
    units: int
    scores: dict[int, ScoreRow]


def _phrase(text: str) -> str:
    return " ".join(_TOKEN.findall(text.lower()))


def mention_counts(artifacts: Mapping[int, Artifact]) -> dict[int, int]:
    """How many *other* artifacts name this one in their capabilities (description, requires)."""
    names: dict[str, int] = {}
    for row_id, a in artifacts.items():
        for label in (a.name, a.slug.replace("-", " ")):
            phrase = _phrase(label)
            if len(phrase) >= 4 and len(phrase.split()) <= 3:
                names.setdefault(phrase, row_id)
    firsts = {phrase.split()[0] for phrase in names}
    mentioned_by: dict[int, set[int]] = {}
    for row_id, a in artifacts.items():
        text = " ".join(c.description + " " + " ".join(c.requires) for c in a.capabilities)
        tokens = _TOKEN.findall(text.lower())
        # only word runs that start like some name can be one
        grams = {" ".join(tokens[i : i + n]) for i, token in enumerate(tokens) if token in firsts
                 for n in (1, 2, 3) if i + n <= len(tokens)}
        for gram in grams & names.keys():
            target = names[gram]
            if target != row_id:
                mentioned_by.setdefault(target, set()).add(row_id)
    return {target: len(sources) for target, sources in mentioned_by.items()}


def effective_evidence(units: int, clients: int, positive: int) -> float:
    """How much the match log says about an artifact: one per distinct verified client, plus a
    twentieth for each further unit those clients added, at most half as much again (a client
    repeating itself under many queries adds little); positive feedback counts up to one per
    client."""
    repeat = min(0.5 * clients, 0.05 * max(0, units - clients))
    return clients + repeat + min(positive, clients)


def run_rank(
    stores: Stores, records: RecordReader, content: ContentSpace, settings: RankingSettings,
    as_of: date | None = None,
) -> RankSummary:
    as_of = as_of or datetime.now(UTC).date()
    catalog, matchlog, evidence = stores.catalog, stores.matchlog, stores.evidence
    artifacts_now = records.all_artifacts()
    artifacts = {r.row_id: r.artifact for r in artifacts_now}
    matched = {r.row_id: r.times_matched for r in artifacts_now}
    types = {row_id: a.type.value for row_id, a in artifacts.items()}

    positive: Counter[int] = Counter()
    negative: Counter[int] = Counter()
    for tally in evidence.feedback_tallies():
        positive[tally.artifact_id] += tally.positive
        negative[tally.artifact_id] += tally.negative

    # the counters move with the matches recorded since the last run; the edges are derived
    # from them (the same as ``build_graph`` over the whole log, benchmarks/evidence_fold.py)
    counts = matchlog.fold_evidence(settings.graph_top_k)
    graph = graph_from_counts(counts, content.similarity, types, settings.substitute_similarity)
    mentions = mention_counts(artifacts)
    refs = adoption_references(artifacts)

    support = {a: effective_evidence(counts.appearances.get(a, 0), counts.clients.get(a, 0), positive[a])
               for a in artifacts}

    scores: dict[int, ScoreRow] = {}
    for row_id, artifact in artifacts.items():
        t = types[row_id]
        half_life = settings.freshness_half_life_days.get(
            t, settings.freshness_half_life_days.get("default", 365.0)
        )
        parts: dict[str, Part] = {
            "adoption": adoption_part(artifact, refs),
            "quality": quality_part(artifact, positive[row_id], negative[row_id]),
            "ecosystem": ecosystem_part(artifact, mentions.get(row_id, 0), max(mentions.values(), default=0)),
            "match_graph": match_graph_part(matched.get(row_id, 0), positive[row_id], support[row_id],
                                            settings.match_prior_strength, graph.centrality.get(row_id, 0.0)),
            "freshness": freshness_part(artifact.updated_at, as_of, half_life),
        }
        weights = weights_for(t, settings.rank_weights)
        scores[row_id] = ScoreRow(
            row_id, weighted_score(parts, weights), {p: parts[p].as_dict() for p in PARTS}
        )

    searches, feedback = matchlog.sizes()[0], evidence.feedback_count()
    run = RankRun(
        computed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        as_of=as_of.isoformat(),
        searches=searches,
        feedback=feedback,
        catalog_hash=catalog.catalog_hash(),
        settings={
            "graph_top_k": settings.graph_top_k,
            "substitute_similarity": settings.substitute_similarity,
            "rank_weights": settings.rank_weights,
            "freshness_half_life_days": settings.freshness_half_life_days,
            "match_prior_strength": settings.match_prior_strength,
        },
    )
    run_id = evidence.save_rank_run(run, graph.edges, matchlog.query_capability_counts(),
                                 list(scores.values()))
    return RankSummary(run_id, as_of, len(artifacts), len(graph.edges), graph.units, scores)


def rank_is_stale(stores: Stores, today: date | None = None) -> bool:
    """True when evidence or the catalog changed since the last run, when it was scored as of
    an earlier day (freshness decays daily), or when there was none."""
    last = stores.evidence.last_rank_run()
    if last is None:
        return True
    today = today or datetime.now(UTC).date()
    searches, feedback = stores.matchlog.sizes()[0], stores.evidence.feedback_count()
    return ((searches, feedback) != (last.searches, last.feedback)
            or last.catalog_hash != stores.catalog.catalog_hash() or last.as_of != today.isoformat())
