"""The SQLite evidence store: feedback, the match graph, scores and their history."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlite_utils

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
from matchgraph.engine.store.sqlite.database import SQLiteDatabase

POSITIVE = ("selected", "helpful", "succeeded")
NEGATIVE = ("not_helpful", "failed")


class SQLiteEvidence:
    def __init__(self, database: SQLiteDatabase):
        self.database = database

    @property
    def db(self) -> sqlite_utils.Database:
        return self.database.db

    def add_feedback(self, record: FeedbackRecord) -> bool:
        """Store feedback: one row per (client, search, artifact), the latest outcome replacing an
        earlier one. True when it is the client's first word on that hit."""
        with self.database.transaction() as conn:
            replaced = conn.execute(
                "DELETE FROM feedback WHERE search_id = ? AND artifact_id = ? AND client_hash = ?",
                (record.search_id, record.artifact_id, record.client_hash or ""),
            ).rowcount
            conn.execute(
                "INSERT OR IGNORE INTO feedback (search_id, artifact_id, capability_id, outcome,"
                " client_hash, created_at) VALUES (?,?,?,?,?,?)",
                (record.search_id, record.artifact_id, record.capability_id or 0, record.outcome,
                 record.client_hash or "", record.created_at.isoformat(timespec="seconds")),
            )
            return replaced == 0

    def feedback_tallies(self) -> list[FeedbackTally]:
        """Positive and negative feedback per artifact and capability (0 = artifact level)."""
        rows = self.db.execute(
            "SELECT artifact_id, capability_id,"
            f" SUM(outcome IN ({','.join('?' * len(POSITIVE))})),"
            f" SUM(outcome IN ({','.join('?' * len(NEGATIVE))}))"
            " FROM feedback GROUP BY artifact_id, capability_id",
            [*POSITIVE, *NEGATIVE],
        ).fetchall()
        return [FeedbackTally(int(a), int(c), int(p or 0), int(n or 0)) for a, c, p, n in rows]

    def selections(self) -> list[Selection]:
        """Positive feedback from verified clients (a feedback row with a client), at most one per
        client and search (its first positive word), each with the search's query and what it showed.
        Feedback without a client (a local command) is not evidence a model may learn from."""
        marks = ",".join("?" * len(POSITIVE))
        rows = self.db.execute(
            "SELECT f.search_id, f.client_hash, s.query, f.artifact_id, f.capability_id"
            " FROM feedback f JOIN searches s ON s.id = f.search_id"
            f" WHERE f.client_hash != '' AND f.outcome IN ({marks}) ORDER BY f.created_at, f.id",
            list(POSITIVE),
        ).fetchall()
        searches = sorted({row[0] for row in rows})
        matches: list[tuple[Any, ...]] = []
        for start in range(0, len(searches), 500):
            chunk = searches[start : start + 500]
            matches += self.db.execute(
                "SELECT search_id, artifact_id, capability_id, rank, artifact_rank FROM matches"
                f" WHERE search_id IN ({','.join('?' * len(chunk))}) ORDER BY search_id, artifact_rank, rank",
                chunk,
            ).fetchall()
        return group_selections(rows, matches)

    def feedback_count(self) -> int:
        return self.database.count("feedback")

    def save_rank_run(
        self, run: RankRun, edges: Sequence[EdgeRow], query_edges: Sequence[QueryEdgeRow],
        scores: Sequence[ScoreRow],
    ) -> int:
        """Replace the graph and current scores, append history: one transaction."""
        with self.database.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO rank_runs (computed_at, as_of, searches, feedback, catalog_hash,"
                " settings) VALUES (?,?,?,?,?,?)",
                (run.computed_at, run.as_of, run.searches, run.feedback, run.catalog_hash,
                 json.dumps(run.settings, sort_keys=True)),
            )
            run_id = int(cur.lastrowid or 0)
            conn.execute("DELETE FROM graph_edges")
            conn.executemany(
                "INSERT INTO graph_edges (a, b, kind, co_searches, jaccard, npmi, similarity)"
                " VALUES (?,?,?,?,?,?,?)",
                [(e.a, e.b, e.kind, e.co_searches, e.jaccard, e.npmi, e.similarity) for e in edges],
            )
            conn.execute("DELETE FROM query_edges")
            conn.executemany(
                "INSERT INTO query_edges (normalized_query, capability_id, artifact_id, searches,"
                " units) VALUES (?,?,?,?,?)",
                [(q.query, q.capability_id, q.artifact_id, q.searches, q.units) for q in query_edges],
            )
            conn.execute("DELETE FROM scores")
            rows = [(s.artifact_id, run_id, s.score, json.dumps(s.parts, sort_keys=True))
                    for s in scores]
            conn.executemany("INSERT INTO scores (artifact_id, run_id, score, parts) VALUES (?,?,?,?)",
                             rows)
            conn.executemany(
                "INSERT INTO score_history (artifact_id, run_id, score, parts) VALUES (?,?,?,?)", rows
            )
        return run_id

    def last_rank_run(self) -> RankRun | None:
        row = self.db.execute(
            "SELECT id, computed_at, as_of, searches, feedback, catalog_hash, settings"
            " FROM rank_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return RankRun(row[1], row[2], int(row[3]), int(row[4]), row[5], json.loads(row[6]),
                       id=int(row[0]))

    def scores_for(self, artifact_ids: Sequence[int]) -> dict[int, ScoreRow]:
        if not artifact_ids:
            return {}
        marks = ",".join("?" * len(artifact_ids))
        rows = self.db.execute(
            f"SELECT artifact_id, score, parts FROM scores WHERE artifact_id IN ({marks})",
            list(artifact_ids),
        ).fetchall()
        return {int(a): ScoreRow(int(a), float(s), json.loads(p)) for a, s, p in rows}

    def score_history(self, artifact_id: int, limit: int = 50) -> list[tuple[RankRun, ScoreRow]]:
        rows = self.db.execute(
            "SELECT r.id, r.computed_at, r.as_of, r.searches, r.feedback, r.catalog_hash, r.settings,"
            " h.score, h.parts FROM score_history h JOIN rank_runs r ON r.id = h.run_id"
            " WHERE h.artifact_id = ? ORDER BY r.id DESC LIMIT ?",
            [artifact_id, limit],
        ).fetchall()
        return [
            (RankRun(r[1], r[2], int(r[3]), int(r[4]), r[5], json.loads(r[6]), id=int(r[0])),
             ScoreRow(artifact_id, float(r[7]), json.loads(r[8])))
            for r in rows
        ]

    def neighbours(self, artifact_id: int) -> list[EdgeRow]:
        rows = self.db.execute(
            "SELECT a, b, kind, co_searches, jaccard, npmi, similarity FROM graph_edges"
            " WHERE a = ? OR b = ? ORDER BY jaccard DESC, co_searches DESC",
            [artifact_id, artifact_id],
        ).fetchall()
        return [EdgeRow(int(a), int(b), k, int(n), float(j), float(p), float(s))
                for a, b, k, n, j, p, s in rows]

    def all_edges(self) -> list[EdgeRow]:
        rows = self.db.execute(
            "SELECT a, b, kind, co_searches, jaccard, npmi, similarity FROM graph_edges ORDER BY a, b"
        ).fetchall()
        return [EdgeRow(int(a), int(b), k, int(n), float(j), float(p), float(s))
                for a, b, k, n, j, p, s in rows]

    def top_queries(self, artifact_ids: Sequence[int], limit: int = 5, min_clients: int = 1
                    ) -> list[tuple[str, int]]:
        """The normalised queries that matched any of these artifacts for the most distinct
        clients, each asked by at least ``min_clients``."""
        if not artifact_ids:
            return []
        marks = ",".join("?" * len(artifact_ids))
        rows: list[Any] = self.db.execute(
            "SELECT normalized_query, MAX(units) AS n FROM query_edges"
            f" WHERE artifact_id IN ({marks}) GROUP BY normalized_query HAVING n >= ?"
            " ORDER BY n DESC, normalized_query LIMIT ?",
            [*artifact_ids, min_clients, limit],
        ).fetchall()
        return [(q, int(n)) for q, n in rows]
