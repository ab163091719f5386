"""The SQLite match log: recorded searches, the capabilities they returned, and the live
times-matched counters the writer keeps beside them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import sqlite_utils

from matchgraph.engine.errors import NotFound
from matchgraph.engine.store.folding import batch_counts, fresh_units, query_tallies, unit_changes
from matchgraph.engine.store.records import GraphCounts, MatchUnitRow, QueryEdgeRow, SearchRecord
from matchgraph.engine.store.sqlite.database import SQLiteDatabase

FOLDED_TABLES = ("unit_members", "unit_appearances", "unit_pairs", "artifact_clients", "query_seen",
                 "query_counts")


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
            raw, units = batch_counts(records)
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
        """Per (normalised query, capability): searches and distinct verified clients, as of the
        last ``fold_evidence``."""
        rows = self.db.execute(
            "SELECT normalized_query, capability_id, artifact_id, searches, clients FROM query_counts"
        ).fetchall()
        return [QueryEdgeRow(q, int(c), int(a), int(n), int(u)) for q, c, a, n, u in rows]

    def fold_evidence(self, top_k: int, batch: int = 200_000) -> GraphCounts:
        """Fold the matches recorded since the last fold into the graph and query counters, and
        return the graph's counters. The cost follows the new rows, not the log: each touched
        unit's earlier members are looked up by key. Changing ``top_k`` refolds from the start."""
        with self.database.transaction() as conn:
            state = dict(conn.execute("SELECT key, value FROM fold_state").fetchall())
            if state.get("top_k") != top_k:
                for table in FOLDED_TABLES:
                    conn.execute(f"DELETE FROM {table}")
                state = {"top_k": top_k, "cursor": 0, "units": 0}
            while True:
                rows = conn.execute(
                    "SELECT m.id, COALESCE(s.client_hash, ''), s.normalized_query, s.day, m.artifact_id,"
                    " m.capability_id, m.artifact_rank FROM matches m JOIN searches s ON s.id = m.search_id"
                    " WHERE m.id > ? ORDER BY m.id LIMIT ?", [state["cursor"], batch],
                ).fetchall()
                if not rows:
                    break
                state["units"] += _fold_units(conn, rows, top_k)
                _fold_queries(conn, rows)
                state["cursor"] = rows[-1][0]
            conn.executemany("INSERT OR REPLACE INTO fold_state (key, value) VALUES (?, ?)",
                             sorted(state.items()))
            appearances = dict(conn.execute("SELECT artifact_id, units FROM unit_appearances").fetchall())
            pairs = {(a, b): co for a, b, co in conn.execute("SELECT a, b, co FROM unit_pairs")}
            clients = dict(conn.execute("SELECT artifact_id, COUNT(*) FROM artifact_clients"
                                        " GROUP BY artifact_id").fetchall())
        return GraphCounts(state["units"], appearances, pairs, clients)

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


def _fold_units(conn: Any, rows: Sequence[tuple[Any, ...]], top_k: int) -> int:
    """Add new rows' top-``top_k`` artifacts to their units; move appearance and pair counts by
    what is new in each unit (``engine.store.folding``). Returns how many units are new."""
    fresh = fresh_units(rows, top_k)
    known: dict[str, set[int]] = {}
    units = list(fresh)
    for start in range(0, len(units), 500):
        chunk = units[start : start + 500]
        for unit, artifact_id in conn.execute(
            f"SELECT unit, artifact_id FROM unit_members WHERE unit IN ({','.join('?' * len(chunk))})", chunk
        ):
            known.setdefault(unit, set()).add(artifact_id)
    change = unit_changes(fresh, known)
    conn.executemany("INSERT INTO unit_members (unit, artifact_id) VALUES (?, ?)", change.members)
    conn.executemany("INSERT OR IGNORE INTO artifact_clients (artifact_id, client_hash) VALUES (?, ?)",
                     change.clients)
    conn.executemany("INSERT INTO unit_appearances (artifact_id, units) VALUES (?, ?) ON CONFLICT"
                     "(artifact_id) DO UPDATE SET units = units + excluded.units",
                     sorted(change.appearances.items()))
    conn.executemany("INSERT INTO unit_pairs (a, b, co) VALUES (?, ?, ?) ON CONFLICT(a, b) DO UPDATE"
                     " SET co = co + excluded.co", [(a, b, n) for (a, b), n in sorted(change.pairs.items())])
    return change.new_units


def _fold_queries(conn: Any, rows: Sequence[tuple[Any, ...]]) -> None:
    """Searches and distinct verified clients per (normalised query, capability)."""
    tally = query_tallies(rows)
    clients: Counter[tuple[str, int]] = Counter()
    for query, capability_id, client in tally.seen:
        if conn.execute("INSERT OR IGNORE INTO query_seen (normalized_query, capability_id, client_hash)"
                        " VALUES (?, ?, ?)", (query, capability_id, client)).rowcount:
            clients[(query, capability_id)] += 1
    conn.executemany(
        "INSERT INTO query_counts (normalized_query, capability_id, artifact_id, searches, clients)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(normalized_query, capability_id) DO UPDATE"
        " SET searches = searches + excluded.searches, clients = clients + excluded.clients",
        tally.count_rows(clients),
    )
