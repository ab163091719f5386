"""Recommendations over the served index and the evidence: alternatives ("Need something
different?"), suggested searches, and the whole "A vs B" comparison."""

from __future__ import annotations

from collections.abc import Callable

from matchgraph.engine.errors import InvalidQuery
from matchgraph.engine.recommend import compare as comparing
from matchgraph.engine.recommend.suggest import Alternative, suggest
from matchgraph.engine.search.content import ContentSpace
from matchgraph.engine.store.contracts import EvidenceStore
from matchgraph.engine.store.reading import RecordReader


class Recommender:
    def __init__(self, records: RecordReader, evidence: EvidenceStore,
                 content: Callable[[], ContentSpace], suggest_min_clients: int = 3):
        """``content`` gives the content space of the index version being served; a search is
        suggested once ``suggest_min_clients`` distinct verified clients asked it."""
        self.records = records
        self.evidence = evidence
        self.content = content
        self.suggest_min_clients = suggest_min_clients

    def alternatives(self, slugs: list[str], limit: int = 5) -> list[Alternative]:
        page = [self.records.artifact(s).row_id for s in slugs]
        content = self.content()
        edges = [e for row_id in page for e in self.evidence.neighbours(row_id)]
        candidates = {c for a in page for c in content.similar_artifacts(a)} | {
            x for e in edges for x in (e.a, e.b)
        }
        cap_rows = [c for a in candidates for c in content.capabilities.get(a, [])]
        names = {row_id: rec.capability.name
                 for row_id, rec in self.records.capabilities_by_row(cap_rows, with_counts=False).items()}
        found = suggest(content, page, edges, names, limit)
        others = self.records.artifacts_by_row([s.artifact_id for s in found])
        return [(s, others[s.artifact_id]) for s in found if s.artifact_id in others]

    def suggested_searches(self, slugs: list[str], limit: int = 5) -> list[tuple[str, int]]:
        return self.evidence.top_queries([self.records.artifact(s).row_id for s in slugs], limit,
                                         self.suggest_min_clients)

    def compare(self, slug_a: str, slug_b: str) -> comparing.Comparison:
        if slug_a == slug_b:
            raise InvalidQuery("compare needs two different artifacts")
        ra, rb = self.records.artifact(slug_a), self.records.artifact(slug_b)
        scores = self.evidence.scores_for([ra.row_id, rb.row_id])
        a, b = comparing.Side(ra, scores.get(ra.row_id)), comparing.Side(rb, scores.get(rb.row_id))
        content = self.content()
        ids = self.records.capabilities_by_row(
            [*content.capabilities.get(ra.row_id, []), *content.capabilities.get(rb.row_id, [])],
            with_counts=False,
        )
        alignment = content.align(ra.row_id, rb.row_id, allowed=lambda x, y: x in ids and y in ids
                                  and comparing.same_job(ids[x].capability, ids[y].capability))
        aligned = [(ids[x].cap_id, ids[y].cap_id, sim) for x, y, sim in alignment.pairs
                   if x in ids and y in ids]
        return comparing.Comparison(
            a=a, b=b, rows=comparing.table(a, b), aligned=aligned,
            only_a=[ids[x].cap_id for x in alignment.only_a if x in ids],
            only_b=[ids[x].cap_id for x in alignment.only_b if x in ids],
            verdict=comparing.verdict(a, b, len(aligned)), summary=comparing.summary(a, b),
            # "Need something different?" on a comparison: only what serves a compared capability
            alternatives=[alt for alt in self.alternatives([slug_a, slug_b], limit=10) if alt[0].shared][:5],
            suggested_searches=self.suggested_searches([slug_a, slug_b]),
        )
