"""SQLite store: the catalog and the match log in one WAL-mode file.

Schema and reads go through sqlite-utils; writes are plain SQL inside one explicit
transaction, so a batch is written whole or not at all. Each thread gets its own
connection (SQLite connections are not shared across threads); WAL lets readers run
while the match writer commits.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from matchgraph.engine.catalog.models import Artifact, Capability
from matchgraph.engine.errors import NotFound
from matchgraph.engine.store.base import (
    ApiKeyRow,
    ArtifactRecord,
    CapabilityFacet,
    CapabilityRecord,
    IndexableCapability,
    ReindexRun,
    SearchRecord,
    StoreCounts,
    UpsertReport,
)
from matchgraph.engine.store.sqlite_evidence import EVIDENCE_SCHEMA, EvidenceMixin

SCHEMA = """
CREATE TABLE IF NOT EXISTS artifacts (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    pricing_model TEXT NOT NULL,
    free_tier INTEGER NOT NULL,
    categories TEXT NOT NULL,
    tags TEXT NOT NULL,
    updated_at TEXT,
    doc TEXT NOT NULL,
    doc_hash TEXT NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS capabilities (
    id INTEGER PRIMARY KEY,
    cap_id TEXT NOT NULL UNIQUE,
    artifact_id INTEGER NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    index_text TEXT NOT NULL,
    doc TEXT NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS capabilities_artifact ON capabilities(artifact_id, position);
CREATE TABLE IF NOT EXISTS searches (
    id TEXT PRIMARY KEY,
    query TEXT NOT NULL,
    normalized_query TEXT NOT NULL,
    created_at TEXT NOT NULL,
    source TEXT NOT NULL,
    client_hash TEXT,
    day TEXT NOT NULL,
    filters TEXT NOT NULL,
    result_count INTEGER NOT NULL,
    index_version TEXT
);
CREATE INDEX IF NOT EXISTS searches_created ON searches(created_at);
CREATE TABLE IF NOT EXISTS matches (
    id INTEGER PRIMARY KEY,
    search_id TEXT NOT NULL,
    capability_id INTEGER NOT NULL,
    artifact_id INTEGER NOT NULL,
    rank INTEGER NOT NULL,
    score REAL NOT NULL,
    artifact_rank INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS matches_capability ON matches(capability_id);
CREATE INDEX IF NOT EXISTS matches_artifact ON matches(artifact_id);
CREATE INDEX IF NOT EXISTS matches_search ON matches(search_id);
CREATE TABLE IF NOT EXISTS match_counts (
    kind INTEGER NOT NULL,          -- 0: artifact, 1: capability
    id INTEGER NOT NULL,
    units INTEGER NOT NULL,         -- distinct (client, normalised query, day)
    raw INTEGER NOT NULL,           -- every search
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS match_seen (
    kind INTEGER NOT NULL,
    id INTEGER NOT NULL,
    unit TEXT NOT NULL,
    PRIMARY KEY (kind, id, unit)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS reindex_runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT NOT NULL,
    version TEXT,
    capabilities INTEGER,
    embedded INTEGER,
    reused INTEGER,
    deleted INTEGER,
    note TEXT
);
"""


PARSE_CACHE_SIZE = 20_000


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _unit(client_hash: str | None, normalized_query: str, day: str) -> str:
    """One unit of evidence: a client asking one need on one day."""
    return f"{client_hash or ''}\x1f{normalized_query}\x1f{day}"


def _hash(doc: str) -> str:
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()


class SQLiteStore(EvidenceMixin):
    """Implements :class:`engine.store.base.Store` over one SQLite file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._parsed: dict[tuple[int, str], Artifact | Capability] = {}
        self._parsed_lock = threading.Lock()
        db = self.db
        db.enable_wal()
        db.conn.executescript(SCHEMA + EVIDENCE_SCHEMA)
        self._backfill_match_counts()

    # -- connections -------------------------------------------------------------------
    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=True)
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
            db = sqlite_utils.Database(conn)
            self._local.db = db
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None

    # -- catalog writes ----------------------------------------------------------------
    def upsert_artifacts(self, artifacts: Sequence[Artifact]) -> UpsertReport:
        report = UpsertReport()
        with self._transaction() as conn:
            for artifact in artifacts:
                self._upsert_one(conn, artifact, report)
        return report

    def _upsert_one(self, conn: sqlite3.Connection, artifact: Artifact, report: UpsertReport) -> None:
        body = artifact.model_dump(mode="json", exclude={"capabilities"})
        doc = json.dumps(body, sort_keys=True, ensure_ascii=False)
        caps = [c.model_dump(mode="json") for c in artifact.capabilities]
        doc_hash = _hash(doc + json.dumps(caps, sort_keys=True, ensure_ascii=False))
        row = conn.execute(
            "SELECT id, doc_hash FROM artifacts WHERE slug = ?", (artifact.slug,)
        ).fetchone()
        if row is not None and row[1] == doc_hash:
            report.unchanged.append(artifact.slug)
            return
        values = (
            artifact.name,
            artifact.type.value,
            artifact.pricing.model.value,
            int(artifact.pricing.free_tier),
            json.dumps(artifact.categories),
            json.dumps(artifact.tags),
            artifact.updated_at.isoformat() if artifact.updated_at else None,
            doc,
            doc_hash,
            _now(),
        )
        if row is None:
            cur = conn.execute(
                "INSERT INTO artifacts (name, type, pricing_model, free_tier, categories, tags,"
                " updated_at, doc, doc_hash, ingested_at, slug) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (*values, artifact.slug),
            )
            artifact_id = int(cur.lastrowid or 0)
            report.new.append(artifact.slug)
        else:
            artifact_id = int(row[0])
            conn.execute(
                "UPDATE artifacts SET name=?, type=?, pricing_model=?, free_tier=?, categories=?,"
                " tags=?, updated_at=?, doc=?, doc_hash=?, ingested_at=? WHERE id=?",
                (*values, artifact_id),
            )
            report.updated.append(artifact.slug)
        keep: list[str] = []
        for position, cap in enumerate(artifact.capabilities):
            cap_id = artifact.capability_id(cap)
            keep.append(cap_id)
            conn.execute(
                "INSERT INTO capabilities (cap_id, artifact_id, position, name, index_text, doc,"
                " content_hash) VALUES (?,?,?,?,?,?,?) ON CONFLICT(cap_id) DO UPDATE SET"
                " artifact_id=excluded.artifact_id, position=excluded.position,"
                " name=excluded.name, index_text=excluded.index_text, doc=excluded.doc,"
                " content_hash=excluded.content_hash",
                (
                    cap_id,
                    artifact_id,
                    position,
                    cap.name,
                    cap.index_text(),
                    json.dumps(cap.model_dump(mode="json"), sort_keys=True, ensure_ascii=False),
                    cap.content_hash(),
                ),
            )
        marks = ",".join("?" * len(keep))
        cur = conn.execute(
            f"DELETE FROM capabilities WHERE artifact_id = ? AND cap_id NOT IN ({marks})",
            (artifact_id, *keep),
        )
        report.capabilities_removed += cur.rowcount

    # -- catalog reads -----------------------------------------------------------------
    def _remember(self, key: tuple[int, str], value: Any) -> None:
        with self._parsed_lock:
            if len(self._parsed) >= PARSE_CACHE_SIZE:
                self._parsed.pop(next(iter(self._parsed)))
            self._parsed[key] = value

    def _artifact(self, row_id: int, doc_hash: str) -> Artifact:
        """Parse an artifact (and its capabilities), reusing earlier parses.

        The cache is keyed by (row id, content hash), so any re-ingest that changes the
        artifact or one of its capabilities misses it; nothing has to invalidate it.
        """
        cached = self._parsed.get((row_id, doc_hash))
        if isinstance(cached, Artifact):
            return cached
        doc = self.db.execute("SELECT doc FROM artifacts WHERE id = ?", [row_id]).fetchone()[0]
        caps = [
            Capability.model_validate_json(c)
            for (c,) in self.db.execute(
                "SELECT doc FROM capabilities WHERE artifact_id = ? ORDER BY position", [row_id]
            )
        ]
        artifact = Artifact.model_validate({**json.loads(doc), "capabilities": caps})
        self._remember((row_id, doc_hash), artifact)
        return artifact

    def _capability(self, row_id: int, content_hash: str) -> Capability:
        key = (-row_id, content_hash)  # negative ids keep capabilities apart from artifacts
        cached = self._parsed.get(key)
        if isinstance(cached, Capability):
            return cached
        doc = self.db.execute("SELECT doc FROM capabilities WHERE id = ?", [row_id]).fetchone()[0]
        capability = Capability.model_validate_json(doc)
        self._remember(key, capability)
        return capability

    def _match_counts(self, column: str, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """(distinct, raw) match counts per artifact or capability row id.

        distinct: (client, normalised query, day) units; raw: every search. Kept up to date by
        ``record_searches`` in ``match_counts``, so reading them costs one lookup per id however
        long the match log grows.
        """
        if not ids:
            return {}
        kind = 0 if column == "artifact_id" else 1
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT id, units, raw FROM match_counts WHERE kind = ? AND id IN ({marks})",
            [kind, *ids],
        ).fetchall()
        return {int(i): (int(d), int(r)) for i, d, r in rows}

    def _records(self, where: str, params: Sequence[Any]) -> list[ArtifactRecord]:
        rows = self.db.execute(f"SELECT id, doc_hash FROM artifacts {where}", list(params)).fetchall()
        counts = self._match_counts("artifact_id", [int(i) for i, _ in rows])
        return [
            ArtifactRecord(int(i), self._artifact(int(i), h), *counts.get(int(i), (0, 0)))
            for i, h in rows
        ]

    def get_artifact(self, slug: str) -> ArtifactRecord:
        found = self._records("WHERE slug = ?", [slug])
        if not found:
            raise NotFound(f"no artifact with slug {slug!r}")
        record = found[0]
        caps = dict(self.db.execute(
            "SELECT id, cap_id FROM capabilities WHERE artifact_id = ?", [record.row_id]
        ).fetchall())
        counts = self._match_counts("capability_id", list(caps))
        per_cap = {cap_id: counts.get(row_id, (0, 0))[0] for row_id, cap_id in caps.items()}
        return ArtifactRecord(record.row_id, record.artifact, record.times_matched,
                              record.raw_matches, per_cap)

    def list_artifacts(self, limit: int, offset: int) -> tuple[list[ArtifactRecord], int]:
        total = self.db["artifacts"].count
        return self._records("ORDER BY slug LIMIT ? OFFSET ?", [limit, offset]), total

    def artifact_rows(self) -> dict[int, str]:
        """Every artifact's row id and slug."""
        return {int(i): s for i, s in self.db.execute("SELECT id, slug FROM artifacts")}

    def artifacts_by_row(self, row_ids: Sequence[int]) -> dict[int, ArtifactRecord]:
        if not row_ids:
            return {}
        marks = ",".join("?" * len(row_ids))
        return {r.row_id: r for r in self._records(f"WHERE id IN ({marks})", row_ids)}

    def _capability_records(
        self, where: str, params: list[Any], with_counts: bool = True
    ) -> list[CapabilityRecord]:
        rows = self.db.execute(
            "SELECT c.id, c.cap_id, c.artifact_id, a.slug, c.content_hash, c.index_text"
            f" FROM capabilities c JOIN artifacts a ON a.id = c.artifact_id WHERE {where}",
            params,
        ).fetchall()
        counts = self._match_counts("capability_id", [int(r[0]) for r in rows]) if with_counts else {}
        return [
            CapabilityRecord(
                row_id=int(row_id),
                cap_id=cap_id,
                artifact_id=int(artifact_id),
                artifact_slug=slug,
                capability=self._capability(int(row_id), content_hash),
                index_text=index_text,
                times_matched=counts.get(int(row_id), (0, 0))[0],
                raw_matches=counts.get(int(row_id), (0, 0))[1],
            )
            for row_id, cap_id, artifact_id, slug, content_hash, index_text in rows
        ]

    def get_capability(self, cap_id: str) -> CapabilityRecord:
        found = self._capability_records("c.cap_id = ?", [cap_id])
        if not found:
            raise NotFound(f"no capability with id {cap_id!r}")
        return found[0]

    def capabilities_by_row(
        self, row_ids: Sequence[int], *, with_counts: bool = True
    ) -> dict[int, CapabilityRecord]:
        if not row_ids:
            return {}
        marks = ",".join("?" * len(row_ids))
        found = self._capability_records(f"c.id IN ({marks})", list(row_ids), with_counts)
        return {r.row_id: r for r in found}

    def indexable_capabilities(self) -> list[IndexableCapability]:
        return [
            IndexableCapability(int(i), c, t, h)
            for i, c, t, h in self.db.execute(
                "SELECT id, cap_id, index_text, content_hash FROM capabilities ORDER BY id"
            ).fetchall()
        ]

    def capability_facets(self) -> list[CapabilityFacet]:
        rows = self.db.execute(
            "SELECT c.id, a.id, a.type, a.pricing_model, a.free_tier, a.categories, a.tags"
            " FROM capabilities c JOIN artifacts a ON a.id = c.artifact_id ORDER BY c.id"
        ).fetchall()
        return [
            CapabilityFacet(
                int(r[0]), int(r[1]), r[2], r[3], bool(r[4]),
                tuple(json.loads(r[5])), tuple(json.loads(r[6])),
            )
            for r in rows
        ]

    def iter_artifacts(self) -> Iterator[Artifact]:
        rows = self.db.execute("SELECT id, doc_hash FROM artifacts ORDER BY slug").fetchall()
        for row_id, doc_hash in rows:
            yield self._artifact(int(row_id), doc_hash)

    def catalog_hash(self) -> str:
        digest = hashlib.sha256()
        for cap_id, content_hash in self.db.execute(
            "SELECT cap_id, content_hash FROM capabilities ORDER BY cap_id"
        ):
            digest.update(f"{cap_id}\0{content_hash}\n".encode())
        return digest.hexdigest()

    # -- match log ---------------------------------------------------------------------
    def record_searches(self, records: Sequence[SearchRecord]) -> None:
        if not records:
            return
        with self._transaction() as conn:
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
        with self._transaction() as tx:
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

    # -- API keys -------------------------------------------------------------------------
    def add_api_key(self, key_id: str, name: str, secret_hash: str, scopes: list[str]) -> ApiKeyRow:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO api_keys (key_id, name, secret_hash, scopes, created_at) VALUES (?,?,?,?,?)",
                (key_id, name, secret_hash, json.dumps(scopes), _now()),
            )
        return self.get_api_key(key_id)

    def get_api_key(self, key_id: str) -> ApiKeyRow:
        row = self.db.execute(
            "SELECT key_id, name, secret_hash, scopes, created_at, revoked_at FROM api_keys"
            " WHERE key_id = ?", [key_id],
        ).fetchone()
        if row is None:
            raise NotFound(f"no API key {key_id!r}")
        return ApiKeyRow(row[0], row[1], row[2], tuple(json.loads(row[3])), row[4], row[5])

    def list_api_keys(self) -> list[ApiKeyRow]:
        ids = [r[0] for r in self.db.execute("SELECT key_id FROM api_keys ORDER BY created_at, key_id")]
        return [self.get_api_key(i) for i in ids]

    def revoke_api_key(self, key_id: str) -> ApiKeyRow:
        self.get_api_key(key_id)
        with self._transaction() as conn:
            conn.execute("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE key_id = ?",
                         (_now(), key_id))
        return self.get_api_key(key_id)

    # -- index job runs -----------------------------------------------------------------
    def start_reindex_run(self) -> int:
        with self._transaction() as conn:
            cur = conn.execute("INSERT INTO reindex_runs (started_at, outcome) VALUES (?, 'running')",
                               (_now(),))
            return int(cur.lastrowid or 0)

    def finish_reindex_run(self, run: ReindexRun) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE reindex_runs SET finished_at=?, outcome=?, version=?, capabilities=?,"
                " embedded=?, reused=?, deleted=?, note=? WHERE id=?",
                (_now(), run.outcome, run.version, run.capabilities, run.embedded, run.reused,
                 run.deleted, run.note, run.id),
            )

    def abandon_running_runs(self, note: str) -> int:
        """Mark runs whose job died mid-way (still 'running' when the lock was free)."""
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE reindex_runs SET outcome='killed', note=? WHERE outcome='running'", (note,)
            )
            return cur.rowcount

    def reindex_runs(self, limit: int = 20) -> list[ReindexRun]:
        rows = self.db.execute(
            "SELECT id, started_at, finished_at, outcome, version, capabilities, embedded, reused,"
            " deleted, note FROM reindex_runs ORDER BY id DESC LIMIT ?",
            [limit],
        ).fetchall()
        return [ReindexRun(*row) for row in rows]

    def counts(self) -> StoreCounts:
        def n(table: str) -> int:
            return int(self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

        return StoreCounts(n("artifacts"), n("capabilities"), n("searches"), n("matches"))
