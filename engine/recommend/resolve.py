"""Resolve an intent to one artifact, and take feedback on what a search or resolve returned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from matchgraph.engine.errors import InvalidFeedback
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


def confidence(result: SearchResult) -> float:
    """How sure the answer is, in [0, 1]: the top capability's cosine to the intent, discounted
    when the runner-up is nearly as good (a small fused-score margin)."""
    if not result.hits:
        return 0.0
    top = result.hits[0]
    cosine = max(0.0, min(1.0, top.matches[0].dense_score or 0.0)) if top.matches else 0.0
    if len(result.hits) == 1:
        margin = 1.0
    else:
        margin = (top.score - result.hits[1].score) / top.score if top.score else 0.0
    return round(cosine * (0.75 + 0.25 * min(1.0, 10 * margin)), 3)


def explain(hit: ArtifactHit) -> str:
    cap = hit.matches[0]
    terms = f" (matched words: {', '.join(cap.matched_terms)})" if cap.matched_terms else ""
    return f"{hit.artifact.artifact.name} serves it through “{cap.name}”{terms}."


def resolution(result: SearchResult) -> Resolution:
    best = result.hits[0] if result.hits else None
    why = explain(best) if best else "Nothing in the catalog matches this intent."
    return Resolution(result.search_id, best, why, confidence(result), result.hits[1:])


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
