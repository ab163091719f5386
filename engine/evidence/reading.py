"""Reading the evidence: an artifact's score and what moved it, its match-graph neighbours,
its times matched per day, and the whole graph for export."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from matchgraph.engine.evidence.graph import export_graph, to_networkx
from matchgraph.engine.evidence.scores import explain_change, weights_for
from matchgraph.engine.settings import RankingSettings
from matchgraph.engine.store.contracts import EvidenceStore, MatchLog
from matchgraph.engine.store.reading import RecordReader
from matchgraph.engine.store.records import ArtifactRecord, EdgeRow, ScoreRow

Neighbour = tuple[EdgeRow, ArtifactRecord]


def other_end(edge: EdgeRow, row_id: int) -> int:
    return edge.b if edge.a == row_id else edge.a


class EvidenceReader:
    def __init__(self, records: RecordReader, evidence: EvidenceStore, matchlog: MatchLog,
                 settings: RankingSettings, flush: Callable[[], None]):
        """``flush`` waits until the searches acknowledged so far are in the match log."""
        self.records = records
        self.evidence = evidence
        self.matchlog = matchlog
        self.settings = settings
        self.flush = flush

    def score(self, artifact_id: int) -> ScoreRow | None:
        return self.evidence.scores_for([artifact_id]).get(artifact_id)

    def scores(self, artifact_ids: list[int]) -> dict[int, ScoreRow]:
        return self.evidence.scores_for(artifact_ids)

    def explain(self, slug: str) -> tuple[list[str], list[tuple[str, float]]]:
        """Why the score moved between the last two runs, and the score history (as_of, score)."""
        record = self.records.artifact(slug)
        history = self.evidence.score_history(record.row_id)
        points = [(run.as_of, row.score) for run, row in reversed(history)]
        if len(history) < 2:
            return [], points
        weights = weights_for(record.artifact.type.value, self.settings.rank_weights)
        (_, now), (_, before) = history[0], history[1]
        lines = explain_change(before.parts, now.parts, weights)  # type: ignore[arg-type]
        return lines, points

    def neighbours(self, slug: str) -> tuple[ArtifactRecord, list[Neighbour]]:
        record = self.records.artifact(slug)
        edges = self.evidence.neighbours(record.row_id)
        others = self.records.artifacts_by_row([other_end(e, record.row_id) for e in edges])
        return record, [(e, others[other_end(e, record.row_id)]) for e in edges
                        if other_end(e, record.row_id) in others]

    def timeline(self, slug: str) -> list[tuple[str, int]]:
        """Times matched per day, (day, distinct units), oldest first; days without matches omitted."""
        return self.matchlog.match_timeline(self.records.artifact(slug).row_id)

    def export_graph(self, path: Path, fmt: str) -> int:
        """Write the co-match graph (GraphML or node-link JSON); returns the number of edges."""
        edges = self.evidence.all_edges()
        records = self.records.all_artifacts()
        scores = self.evidence.scores_for([r.row_id for r in records])
        nodes: dict[int, dict[str, object]] = {
            r.row_id: {"slug": r.artifact.slug, "name": r.artifact.name, "type": r.artifact.type.value,
                       "times_matched": r.times_matched,
                       "score": scores[r.row_id].score if r.row_id in scores else None}
            for r in records
        }
        export_graph(to_networkx(edges, nodes), path, fmt)
        return len(edges)
