"""Resolve an intent to one artifact, and take feedback on what a search or resolve returned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from matchgraph.engine.errors import InvalidFeedback
from matchgraph.engine.search.relevance import RelevanceModel
from matchgraph.engine.search.searcher import ArtifactHit, SearchResult
from matchgraph.engine.store.contracts import CatalogStore, EvidenceStore, MatchLog
from matchgraph.engine.store.records import FeedbackRecord


class Outcome(str, Enum):
    selected = "selected"
    helpful = "helpful"
    not_helpful = "not_helpful"
    succeeded = "succeeded"
    failed = "failed"


@dataclass(frozen=True)
class Resolution:
    resolve_id: str
    best: ArtifactHit | None
    why: str
    confidence: float
    alternatives: list[ArtifactHit]


def explain(hit: ArtifactHit) -> str:
    cap = hit.matches[0]
    terms = f" (matched words: {', '.join(cap.matched_terms)})" if cap.matched_terms else ""
    return f"{hit.artifact.artifact.name} serves it through “{cap.name}”{terms}."


def first_answer_confidence(result: SearchResult, model: RelevanceModel) -> float:
    """How likely the first answer of ``result`` is right (0 when it has none)."""
    if not result.hits:
        return 0.0
    second = result.hits[1].score if len(result.hits) > 1 else 0.0
    return model.confidence(result.hits[0].score, second, result.total)


def resolution(result: SearchResult, min_confidence: float, model: RelevanceModel) -> Resolution:
    """The best hit when the confidence that it is right reaches ``min_confidence``; else no
    answer, with the candidates."""
    candidates = result.hits or result.nearest
    top = first_answer_confidence(result, model)
    if result.hits and top >= min_confidence:
        best = result.hits[0]
        return Resolution(result.search_id, best, explain(best), round(top, 3), result.hits[1:])
    if result.hits:
        why = (f"No confident match: the best candidate, {result.hits[0].artifact.artifact.name}, is right "
               f"with probability {top:.2f} (under {min_confidence:.2f}); see the candidates.")
    else:
        why = "Nothing in the catalog serves this intent; the nearest artifacts are listed, none matching."
    return Resolution(result.search_id, None, why, round(top, 3), candidates)


def record_feedback(
    catalog: CatalogStore, matchlog: MatchLog, evidence: EvidenceStore, search_id: str,
    artifact_slug: str, capability: str | None, outcome: Outcome,
    client: str | None,
) -> bool:
    """Validate and store feedback; True when it was new, False for a repeat from the client."""
    returned = matchlog.search_results(search_id)
    record = catalog.artifact(artifact_slug)
    if record.row_id not in returned:
        raise InvalidFeedback(
            f"artifact {artifact_slug!r} was not among the results of {search_id}; feedback is "
            "taken only on what a search returned"
        )
    capability_id = None
    if capability:
        key = capability.split("/", 1)[1] if "/" in capability else capability
        cap_id = f"{artifact_slug}/{key}"
        capability_id = catalog.capability(cap_id).row_id
        if capability_id not in returned[record.row_id]:
            raise InvalidFeedback(f"capability {cap_id!r} was not among the results of {search_id}")
    return evidence.add_feedback(FeedbackRecord(search_id, record.row_id, capability_id, outcome.value,
                                             client, datetime.now(UTC)))
