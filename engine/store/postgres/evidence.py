"""The PostgreSQL evidence store: feedback, the match graph, scores and their history."""

from __future__ import annotations

import json
from collections.abc import Sequence

from matchgraph.engine.store.postgres.database import PostgresDatabase
from matchgraph.engine.store.records import (
    EdgeRow,
    FeedbackRecord,
    FeedbackTally,
    QueryEdgeRow,
    RankRun,
    ScoreRow,
    Selection,
    group_selections,
)

POSITIVE = ["selected", "helpful", "succeeded"]
NEGATIVE = ["not_helpful", "failed"]
EDGE_COLUMNS = "a, b, kind, co_searches, jaccard, npmi, similarity"


def _edge(row: tuple) -> EdgeRow:  # type: ignore[type-arg]
    a, b, k, n, j, p, s = row
    return EdgeRow(int(a), int(b), k, int(n), float(j), float(p), float(s))


class PostgresEvidence:
    def __init__(self, database: PostgresDatabase):
        self.database = database

    def add_feedback(self, record: FeedbackRecord) -> bool:
        """One row per (client, search, artifact), the latest outcome replacing an earlier one; True
        when it is the client's first word on that hit. The unique key makes this hold when two
        replicas take the same client's feedback at once."""
        with self.database.transaction() as conn:
            row = conn.execute(
                "INSERT INTO feedback (search_id, artifact_id, capability_id, outcome, client_hash,"
                " created_at) VALUES (%s,%s,%s,%s,%s,%s)"
                " ON CONFLICT (search_id, artifact_id, client_hash) DO UPDATE SET"
                " capability_id = excluded.capability_id, outcome = excluded.outcome,"
                " created_at = excluded.created_at RETURNING (xmax = 0)",
                (record.search_id, record.artifact_id, record.capability_id or 0, record.outcome,
                 record.client_hash or "", record.created_at.isoformat(timespec="seconds")),
            ).fetchone()
        return bool(row and row[0])

    def feedback_tallies(self) -> list[FeedbackTally]:
        rows = self.database.rows(
            "SELECT artifact_id, capability_id, COUNT(*) FILTER (WHERE outcome = ANY(%s)),"
            " COUNT(*) FILTER (WHERE outcome = ANY(%s)) FROM feedback GROUP BY artifact_id, capability_id",
            (POSITIVE, NEGATIVE),
        )
        return [FeedbackTally(int(a), int(c), int(p or 0), int(n or 0)) for a, c, p, n in rows]

    def selections(self) -> list[Selection]:
        """Positive feedback from verified clients, once per client and search, with what it
        showed (the contract's meaning: ``records.group_selections``)."""
        rows = self.database.rows(
            "SELECT f.search_id, f.client_hash, s.query, f.artifact_id, f.capability_id"
            " FROM feedback f JOIN searches s ON s.id = f.search_id"
            " WHERE f.client_hash != '' AND f.outcome = ANY(%s) ORDER BY f.created_at, f.id",
            (POSITIVE,),
        )
        searches = sorted({row[0] for row in rows})
        matches = self.database.rows(
            "SELECT search_id, artifact_id, capability_id, rank, artifact_rank FROM matches"
            " WHERE search_id = ANY(%s) ORDER BY search_id, artifact_rank, rank", (searches,),
        ) if searches else []
        return group_selections(rows, matches)

    def feedback_count(self) -> int:
        return self.database.count("feedback")

    def save_rank_run(
        self, run: RankRun, edges: Sequence[EdgeRow], query_edges: Sequence[QueryEdgeRow],
        scores: Sequence[ScoreRow],
    ) -> int:
        """Replace the graph and current scores, append history: one transaction."""
        with self.database.transaction() as conn, conn.cursor() as cur:
            inserted = cur.execute(
                "INSERT INTO rank_runs (computed_at, as_of, searches, feedback, catalog_hash, settings)"
                " VALUES (%s,%s,%s,%s,%s,%s) RETURNING id",
                (run.computed_at, run.as_of, run.searches, run.feedback, run.catalog_hash,
                 json.dumps(run.settings, sort_keys=True)),
            ).fetchone()
            assert inserted is not None
            run_id = int(inserted[0])
            cur.execute("DELETE FROM graph_edges")
            cur.executemany(
                f"INSERT INTO graph_edges ({EDGE_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                [(e.a, e.b, e.kind, e.co_searches, e.jaccard, e.npmi, e.similarity) for e in edges],
            )
            cur.execute("DELETE FROM query_edges")
            cur.executemany(
                "INSERT INTO query_edges (normalized_query, capability_id, artifact_id, searches, units)"
                " VALUES (%s,%s,%s,%s,%s)",
                [(q.query, q.capability_id, q.artifact_id, q.searches, q.units) for q in query_edges],
            )
            cur.execute("DELETE FROM scores")
            rows = [(s.artifact_id, run_id, s.score, json.dumps(s.parts, sort_keys=True)) for s in scores]
            cur.executemany("INSERT INTO scores (artifact_id, run_id, score, parts)"
                            " VALUES (%s,%s,%s,%s)", rows)
            cur.executemany("INSERT INTO score_history (artifact_id, run_id, score, parts)"
                            " VALUES (%s,%s,%s,%s)", rows)
        return run_id

    def last_rank_run(self) -> RankRun | None:
        row = self.database.one(
            "SELECT id, computed_at, as_of, searches, feedback, catalog_hash, settings"
            " FROM rank_runs ORDER BY id DESC LIMIT 1"
        )
        if row is None:
            return None
        return RankRun(row[1], row[2], int(row[3]), int(row[4]), row[5], json.loads(row[6]), id=int(row[0]))

    def scores_for(self, artifact_ids: Sequence[int]) -> dict[int, ScoreRow]:
        if not artifact_ids:
            return {}
        rows = self.database.rows("SELECT artifact_id, score, parts FROM scores WHERE artifact_id = ANY(%s)",
                                  (list(artifact_ids),))
        return {int(a): ScoreRow(int(a), float(s), json.loads(p)) for a, s, p in rows}

    def score_history(self, artifact_id: int, limit: int = 50) -> list[tuple[RankRun, ScoreRow]]:
        rows = self.database.rows(
            "SELECT r.id, r.computed_at, r.as_of, r.searches, r.feedback, r.catalog_hash, r.settings,"
            " h.score, h.parts FROM score_history h JOIN rank_runs r ON r.id = h.run_id"
            " WHERE h.artifact_id = %s ORDER BY r.id DESC LIMIT %s", (artifact_id, limit),
        )
        return [
            (RankRun(r[1], r[2], int(r[3]), int(r[4]), r[5], json.loads(r[6]), id=int(r[0])),
             ScoreRow(artifact_id, float(r[7]), json.loads(r[8])))
            for r in rows
        ]

    def neighbours(self, artifact_id: int) -> list[EdgeRow]:
        rows = self.database.rows(
            f"SELECT {EDGE_COLUMNS} FROM graph_edges WHERE a = %s OR b = %s"
            " ORDER BY jaccard DESC, co_searches DESC", (artifact_id, artifact_id),
        )
        return [_edge(r) for r in rows]

    def all_edges(self) -> list[EdgeRow]:
        return [_edge(r) for r in self.database.rows(f"SELECT {EDGE_COLUMNS} FROM graph_edges ORDER BY a, b")]

    def top_queries(self, artifact_ids: Sequence[int], limit: int = 5, min_clients: int = 1
                    ) -> list[tuple[str, int]]:
        if not artifact_ids:
            return []
        rows = self.database.rows(
            "SELECT normalized_query, MAX(units) AS n FROM query_edges WHERE artifact_id = ANY(%s)"
            ' GROUP BY normalized_query HAVING MAX(units) >= %s ORDER BY n DESC, normalized_query COLLATE "C"'
            " LIMIT %s", (list(artifact_ids), min_clients, limit),
        )
        return [(q, int(n)) for q, n in rows]
