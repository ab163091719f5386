"""The PostgreSQL match log: recorded searches, the capabilities they returned, and the live
times-matched counters, shared by every replica.

Batches from different replicas are written one at a time (a transaction-scoped advisory
lock), so match ids commit in increasing order and the evidence fold, which reads by id, never
passes a row that commits later with a smaller id. The fold itself runs under its own lock, so
two replicas never fold the same rows twice.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

from matchgraph.engine.errors import NotFound
from matchgraph.engine.store.folding import batch_counts, fresh_units, query_tallies, unit_changes
from matchgraph.engine.store.postgres.database import DatabaseUnavailable, PostgresDatabase
from matchgraph.engine.store.postgres.schema import FOLD_LOCK, MATCH_WRITE_LOCK
from matchgraph.engine.store.records import GraphCounts, MatchUnitRow, QueryEdgeRow, SearchRecord

FOLDED_TABLES = ("unit_members", "unit_appearances", "unit_pairs", "artifact_clients", "query_seen",
                 "query_counts")
KNOWN_COUNTS = 200_000  # counts kept for an outage, at most
UNIT_SQL = "COALESCE(s.client_hash, '') || chr(31) || s.normalized_query || chr(31) || s.day"


class PostgresMatchLog:
    def __init__(self, database: PostgresDatabase):
        self.database = database
        self._known_counts: dict[tuple[int, int], tuple[int, int]] = {}

    def record_searches(self, records: Sequence[SearchRecord]) -> None:
        if not records:
            return
        raw, units = batch_counts(records)
        seen = sorted(units)
        with self.database.transaction(lock=MATCH_WRITE_LOCK) as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO searches (id, query, normalized_query, created_at, source, client_hash, day,"
                " filters, result_count, index_version) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                [(r.search_id, r.query, r.normalized_query, r.created_at.isoformat(timespec="milliseconds"),
                  r.source, r.client_hash, r.created_at.date().isoformat(),
                  json.dumps(r.filters, sort_keys=True), r.result_count, r.index_version) for r in records],
            )
            cur.executemany(
                "INSERT INTO matches (search_id, capability_id, artifact_id, rank, score, artifact_rank)"
                " VALUES (%s,%s,%s,%s,%s,%s)",
                [(r.search_id, m.capability_row_id, m.artifact_row_id, m.rank, m.score, m.artifact_rank)
                 for r in records for m in r.matches],
            )
            # a unit counts once: only the (kind, id, unit) rows inserted now are new
            new_units: Counter[tuple[int, int]] = Counter(
                (int(k), int(i)) for k, i in cur.execute(
                    "INSERT INTO match_seen (kind, id, unit) SELECT * FROM unnest(%s::int[], %s::bigint[],"
                    " %s::text[]) ON CONFLICT DO NOTHING RETURNING kind, id",
                    ([k for k, _, _ in seen], [i for _, i, _ in seen], [u for _, _, u in seen]),
                ).fetchall()
            )
            counts = sorted(raw.items())
            cur.execute(
                "INSERT INTO match_counts (kind, id, units, raw) SELECT * FROM"
                " unnest(%s::int[], %s::bigint[], %s::bigint[], %s::bigint[])"
                " ON CONFLICT (kind, id) DO UPDATE SET units = match_counts.units + excluded.units,"
                " raw = match_counts.raw + excluded.raw",
                ([k for (k, _), _ in counts], [i for (_, i), _ in counts],
                 [new_units.get(key, 0) for key, _ in counts], [n for _, n in counts]),
            )

    def search_results(self, search_id: str) -> dict[int, set[int]]:
        if self.database.one("SELECT 1 FROM searches WHERE id = %s", (search_id,)) is None:
            raise NotFound(f"no search or resolve with id {search_id!r}")
        out: dict[int, set[int]] = {}
        for artifact_id, capability_id in self.database.rows(
            "SELECT artifact_id, capability_id FROM matches WHERE search_id = %s", (search_id,)
        ):
            out.setdefault(int(artifact_id), set()).add(int(capability_id))
        return out

    def match_counts(self, kind: int, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """While the database is down: the counts last read (searches go on answering)."""
        if not ids:
            return {}
        try:
            rows = self.database.rows(
                "SELECT id, units, raw FROM match_counts WHERE kind = %s AND id = ANY(%s)", (kind, list(ids)))
        except DatabaseUnavailable:
            return {i: self._known_counts[(kind, i)] for i in ids if (kind, i) in self._known_counts}
        found = {int(i): (int(d), int(r)) for i, d, r in rows}
        if len(self._known_counts) > KNOWN_COUNTS:
            self._known_counts.clear()
        self._known_counts.update(((kind, i), c) for i, c in found.items())
        return found

    def match_units(self, top_k: int) -> Iterator[MatchUnitRow]:
        rows = self.database.rows(
            "SELECT DISTINCT COALESCE(s.client_hash, ''), s.normalized_query, s.day, m.artifact_id"
            " FROM matches m JOIN searches s ON s.id = m.search_id WHERE m.artifact_rank <= %s", (top_k,),
        )
        # ordered by code point as SQLite orders text, whatever the database's collation
        for client, query, day, artifact_id in sorted(rows, key=lambda r: (r[0], r[1], r[2])):
            yield MatchUnitRow(client, query, day, int(artifact_id))

    def query_capability_counts(self) -> list[QueryEdgeRow]:
        rows = self.database.rows(
            "SELECT normalized_query, capability_id, artifact_id, searches, clients FROM query_counts")
        return [QueryEdgeRow(q, int(c), int(a), int(n), int(u)) for q, c, a, n, u in rows]

    def fold_evidence(self, top_k: int, batch: int = 200_000) -> GraphCounts:
        with self.database.transaction(lock=FOLD_LOCK) as conn:
            state = {k: int(v) for k, v in conn.execute("SELECT key, value FROM fold_state").fetchall()}
            if state.get("top_k") != top_k:
                for table in FOLDED_TABLES:
                    conn.execute(f"DELETE FROM {table}")
                state = {"top_k": top_k, "cursor": 0, "units": 0}
            while True:
                rows = conn.execute(
                    "SELECT m.id, COALESCE(s.client_hash, ''), s.normalized_query, s.day, m.artifact_id,"
                    " m.capability_id, m.artifact_rank FROM matches m JOIN searches s ON s.id = m.search_id"
                    " WHERE m.id > %s ORDER BY m.id LIMIT %s", (state["cursor"], batch),
                ).fetchall()
                if not rows:
                    break
                state["units"] += _fold_units(conn, rows, top_k)
                _fold_queries(conn, rows)
                state["cursor"] = int(rows[-1][0])
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO fold_state (key, value) VALUES (%s, %s) ON CONFLICT (key)"
                                " DO UPDATE SET value = excluded.value", sorted(state.items()))
            appearances = {int(a): int(n) for a, n in
                           conn.execute("SELECT artifact_id, units FROM unit_appearances").fetchall()}
            pairs = {(int(a), int(b)): int(co) for a, b, co in
                     conn.execute("SELECT a, b, co FROM unit_pairs").fetchall()}
            clients = {int(a): int(n) for a, n in conn.execute(
                "SELECT artifact_id, COUNT(*) FROM artifact_clients GROUP BY artifact_id").fetchall()}
        return GraphCounts(state["units"], appearances, pairs, clients)

    def match_timeline(self, artifact_id: int) -> list[tuple[str, int]]:
        rows = self.database.rows(
            "SELECT s.day, COUNT(DISTINCT COALESCE(s.client_hash, '') || chr(31) || s.normalized_query)"
            " FROM matches m JOIN searches s ON s.id = m.search_id WHERE m.artifact_id = %s"
            " GROUP BY s.day ORDER BY s.day", (artifact_id,),
        )
        return [(str(day), int(n)) for day, n in rows]

    def sizes(self) -> tuple[int, int]:
        return self.database.count("searches"), self.database.count("matches")


def _fold_units(conn: psycopg.Connection[Any], rows: Sequence[tuple[Any, ...]], top_k: int) -> int:
    """Add new rows' top-``top_k`` artifacts to their units; move appearance and pair counts by
    what is new in each unit (``engine.store.folding``). Returns how many units are new."""
    fresh = fresh_units(rows, top_k)
    known: dict[str, set[int]] = {}
    for unit, artifact_id in conn.execute(
        "SELECT unit, artifact_id FROM unit_members WHERE unit = ANY(%s)", (list(fresh),)
    ).fetchall():
        known.setdefault(unit, set()).add(int(artifact_id))
    change = unit_changes(fresh, known)
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO unit_members (unit, artifact_id) VALUES (%s, %s)", change.members)
        cur.executemany("INSERT INTO artifact_clients (artifact_id, client_hash) VALUES (%s, %s)"
                        " ON CONFLICT DO NOTHING", change.clients)
        cur.executemany("INSERT INTO unit_appearances (artifact_id, units) VALUES (%s, %s) ON CONFLICT"
                        " (artifact_id) DO UPDATE SET units = unit_appearances.units + excluded.units",
                        sorted(change.appearances.items()))
        cur.executemany("INSERT INTO unit_pairs (a, b, co) VALUES (%s, %s, %s) ON CONFLICT (a, b) DO UPDATE"
                        " SET co = unit_pairs.co + excluded.co",
                        [(a, b, n) for (a, b), n in sorted(change.pairs.items())])
    return change.new_units


def _fold_queries(conn: psycopg.Connection[Any], rows: Sequence[tuple[Any, ...]]) -> None:
    """Searches and distinct verified clients per (normalised query, capability)."""
    tally = query_tallies(rows)
    ordered = tally.seen
    clients: Counter[tuple[str, int]] = Counter(
        (q, int(c)) for q, c in conn.execute(
            "INSERT INTO query_seen (normalized_query, capability_id, client_hash) SELECT * FROM"
            " unnest(%s::text[], %s::bigint[], %s::text[]) ON CONFLICT DO NOTHING"
            " RETURNING normalized_query, capability_id",
            ([q for q, _, _ in ordered], [c for _, c, _ in ordered], [h for _, _, h in ordered]),
        ).fetchall()
    )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO query_counts (normalized_query, capability_id, artifact_id, searches, clients)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (normalized_query, capability_id) DO UPDATE"
            " SET searches = query_counts.searches + excluded.searches,"
            " clients = query_counts.clients + excluded.clients",
            tally.count_rows(clients),
        )
