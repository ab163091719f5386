"""The SQLite match log: recorded searches, the capabilities they returned, and the live
times-matched counters the writer keeps beside them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence

import sqlite_utils

from matchgraph.engine.errors import NotFound
from matchgraph.engine.store.records import MatchUnitRow, QueryEdgeRow, SearchRecord
from matchgraph.engine.store.sqlite.database import SQLiteDatabase


def _unit(client_hash: str | None, normalized_query: str, day: str) -> str:
    """One unit of evidence: a client asking one need on one day."""
    return f"{client_hash or ''}\x1f{normalized_query}\x1f{day}"


class SQLiteMatchLog:
    def __init__(self, database: SQLiteDatabase):
        self.database = database
        self._backfill_match_counts()

    @property
    def db(self) -> sqlite_utils.Database:
        return self.database.db

    def record_searches(self, records: Sequence[SearchRecord]) -> None:
        if not records:
            return
        with self.database.transaction() as conn:
            conn.executemany(
                "INSERT INTO searches (id, query, normalized_query, created_at, source,"
                " client_hash, day, filters, result_count, index_version)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        r.search_id, r.query, r.normalized_query,
                        r.created_at.isoformat(timespec="milliseconds"), r.source, r.client_hash,
                        r.created_at.date().isoformat(), json.dumps(r.filters, sort_keys=True),
                        r.result_count, r.index_version,
                    )
                    for r in records
                ],
            )
            conn.executemany(
                "INSERT INTO matches (search_id, capability_id, artifact_id, rank, score,"
                " artifact_rank) VALUES (?,?,?,?,?,?)",
                [
                    (r.search_id, m.capability_row_id, m.artifact_row_id, m.rank, m.score,
                     m.artifact_rank)
                    for r in records
                    for m in r.matches
                ],
            )
            # The counters move by whole batches: a handful of statements, not two per match.
            raw: Counter[tuple[int, int]] = Counter()
            units: set[tuple[int, int, str]] = set()
            for r in records:
                unit = _unit(r.client_hash, r.normalized_query, r.created_at.date().isoformat())
                keys = {(0, m.artifact_row_id) for m in r.matches}
                keys |= {(1, m.capability_row_id) for m in r.matches}
                raw.update(keys)
                units.update((kind, row_id, unit) for kind, row_id in keys)
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS batch_units (kind INTEGER NOT NULL, id INTEGER NOT NULL,"
                " unit TEXT NOT NULL, PRIMARY KEY (kind, id, unit)) WITHOUT ROWID"
            )
            conn.execute("DELETE FROM batch_units")
            conn.executemany("INSERT INTO batch_units (kind, id, unit) VALUES (?,?,?)", sorted(units))
            conn.execute(  # keep only units this batch sees for the first time
                "DELETE FROM batch_units WHERE EXISTS (SELECT 1 FROM match_seen s WHERE s.kind ="
                " batch_units.kind AND s.id = batch_units.id AND s.unit = batch_units.unit)"
            )
            conn.execute("INSERT INTO match_seen (kind, id, unit) SELECT kind, id, unit FROM batch_units")
            new_units = {
                (kind, row_id): n for kind, row_id, n in conn.execute(
                    "SELECT kind, id, COUNT(*) FROM batch_units GROUP BY kind, id"
                )
            }
            conn.executemany(
                "INSERT INTO match_counts (kind, id, units, raw) VALUES (?,?,?,?)"
                " ON CONFLICT(kind, id) DO UPDATE SET units = units + excluded.units,"
                " raw = raw + excluded.raw",
                [(kind, row_id, new_units.get((kind, row_id), 0), n)
                 for (kind, row_id), n in sorted(raw.items())],
            )

    def _backfill_match_counts(self) -> None:
        """Derive the counters from the match log when a database predates them."""
        conn = self.db.conn
        has_matches = conn.execute("SELECT 1 FROM matches LIMIT 1").fetchone()
        has_counts = conn.execute("SELECT 1 FROM match_counts LIMIT 1").fetchone()
        if not has_matches or has_counts:
            return
        unit = "COALESCE(s.client_hash, '') || char(31) || s.normalized_query || char(31) || s.day"
        with self.database.transaction() as tx:
            for kind, column in ((0, "artifact_id"), (1, "capability_id")):
                tx.execute(
                    f"INSERT OR IGNORE INTO match_seen (kind, id, unit) SELECT DISTINCT {kind},"
                    f" m.{column}, {unit} FROM matches m JOIN searches s ON s.id = m.search_id"
                )
                tx.execute(
                    f"INSERT INTO match_counts (kind, id, units, raw) SELECT {kind}, m.{column},"
                    f" COUNT(DISTINCT {unit}), COUNT(DISTINCT s.id) FROM matches m"
                    f" JOIN searches s ON s.id = m.search_id GROUP BY m.{column}"
                )

    def search_results(self, search_id: str) -> dict[int, set[int]]:
        """Artifact row id -> capability row ids a recorded search returned."""
        if self.db.execute("SELECT 1 FROM searches WHERE id = ?", [search_id]).fetchone() is None:
            raise NotFound(f"no search or resolve with id {search_id!r}")
        out: dict[int, set[int]] = {}
        for artifact_id, capability_id in self.db.execute(
            "SELECT artifact_id, capability_id FROM matches WHERE search_id = ?", [search_id]
        ):
            out.setdefault(int(artifact_id), set()).add(int(capability_id))
        return out

    def match_counts(self, kind: int, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """(units, raw) match counts per artifact (kind 0) or capability (kind 1) row id.

        distinct: (client, normalised query, day) units; raw: every search. Kept up to date by
        ``record_searches`` in ``match_counts``, so reading them costs one lookup per id however
        long the match log grows.
        """
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT id, units, raw FROM match_counts WHERE kind = ? AND id IN ({marks})",
            [kind, *ids],
        ).fetchall()
        return {int(i): (int(d), int(r)) for i, d, r in rows}

    def match_units(self, top_k: int) -> Iterator[MatchUnitRow]:
        """(client, normalised query, day) units and the artifacts in their top ``top_k``."""
        for client, query, day, artifact_id in self.db.execute(
            "SELECT DISTINCT COALESCE(s.client_hash, ''), s.normalized_query, s.day, m.artifact_id"
            " FROM matches m JOIN searches s ON s.id = m.search_id WHERE m.artifact_rank <= ?"
            " ORDER BY 1, 2, 3",
            [top_k],
        ):
            yield MatchUnitRow(client, query, day, int(artifact_id))

    def query_capability_counts(self) -> list[QueryEdgeRow]:
        rows = self.db.execute(
            "SELECT s.normalized_query, m.capability_id, m.artifact_id, COUNT(*),"
            " COUNT(DISTINCT COALESCE(s.client_hash, '') || char(31) || s.day)"
            " FROM matches m JOIN searches s ON s.id = m.search_id"
            " GROUP BY s.normalized_query, m.capability_id"
        ).fetchall()
        return [QueryEdgeRow(q, int(c), int(a), int(n), int(u)) for q, c, a, n, u in rows]

    def match_timeline(self, artifact_id: int) -> list[tuple[str, int]]:
        """Times matched per day: distinct (client, normalised query) units, oldest day first."""
        rows = self.db.execute(
            "SELECT s.day, COUNT(DISTINCT COALESCE(s.client_hash, '') || char(31) || s.normalized_query)"
            " FROM matches m JOIN searches s ON s.id = m.search_id WHERE m.artifact_id = ?"
            " GROUP BY s.day ORDER BY s.day",
            [artifact_id],
        ).fetchall()
        return [(str(day), int(n)) for day, n in rows]

    def sizes(self) -> tuple[int, int]:
        return self.database.count("searches"), self.database.count("matches")
