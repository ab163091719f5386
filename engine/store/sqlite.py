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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from engine.errors import NotFound
from engine.models import Artifact, Capability
from engine.store.base import (
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
from engine.store.sqlite_evidence import EVIDENCE_SCHEMA, EvidenceMixin

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


def _hash(doc: str) -> str:
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()


class SQLiteStore(EvidenceMixin):
    """Implements :class:`engine.store.base.Store` over one SQLite file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._parsed: dict[tuple[int, str], Artifact] = {}
        self._parsed_lock = threading.Lock()
        db = self.db
        db.enable_wal()
        db.conn.executescript(SCHEMA + EVIDENCE_SCHEMA)

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
    def _artifact_from_row(self, row: dict[str, Any]) -> Artifact:
        """Parse an artifact row (and its capabilities), reusing earlier parses.

        The cache is keyed by (row id, content hash), so any re-ingest that changes the
        artifact or one of its capabilities misses it; nothing has to invalidate it.
        """
        key = (int(row["id"]), str(row["doc_hash"]))
        cached = self._parsed.get(key)
        if cached is not None:
            return cached
        caps = [
            Capability.model_validate_json(c["doc"])
            for c in self.db.query(
                "SELECT doc FROM capabilities WHERE artifact_id = ? ORDER BY position", [row["id"]]
            )
        ]
        artifact = Artifact.model_validate({**json.loads(row["doc"]), "capabilities": caps})
        with self._parsed_lock:
            if len(self._parsed) >= PARSE_CACHE_SIZE:
                self._parsed.pop(next(iter(self._parsed)))
            self._parsed[key] = artifact
        return artifact

    def _match_counts(self, column: str, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """(distinct, raw) match counts per artifact or capability row id.

        distinct: (client, normalised query, day) units; raw: every search.
        """
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT m.{column}, COUNT(DISTINCT COALESCE(s.client_hash, '') || char(31)"
            " || s.normalized_query || char(31) || s.day), COUNT(DISTINCT s.id)"
            f" FROM matches m JOIN searches s ON s.id = m.search_id WHERE m.{column} IN ({marks})"
            f" GROUP BY m.{column}",
            list(ids),
        ).fetchall()
        return {int(i): (int(d), int(r)) for i, d, r in rows}

    def _records(self, rows: list[dict[str, Any]]) -> list[ArtifactRecord]:
        counts = self._match_counts("artifact_id", [r["id"] for r in rows])
        return [
            ArtifactRecord(r["id"], self._artifact_from_row(r), *counts.get(r["id"], (0, 0)))
            for r in rows
        ]

    def get_artifact(self, slug: str) -> ArtifactRecord:
        rows = list(self.db.query("SELECT * FROM artifacts WHERE slug = ?", [slug]))
        if not rows:
            raise NotFound(f"no artifact with slug {slug!r}")
        [record] = self._records(rows)
        caps = dict(self.db.execute(
            "SELECT id, cap_id FROM capabilities WHERE artifact_id = ?", [record.row_id]
        ).fetchall())
        counts = self._match_counts("capability_id", list(caps))
        per_cap = {cap_id: counts.get(row_id, (0, 0))[0] for row_id, cap_id in caps.items()}
        return ArtifactRecord(record.row_id, record.artifact, record.times_matched,
                              record.raw_matches, per_cap)

    def list_artifacts(self, limit: int, offset: int) -> tuple[list[ArtifactRecord], int]:
        total = self.db["artifacts"].count
        rows = list(
            self.db.query("SELECT * FROM artifacts ORDER BY slug LIMIT ? OFFSET ?", [limit, offset])
        )
        return self._records(rows), total

    def artifact_rows(self) -> dict[int, str]:
        """Every artifact's row id and slug."""
        return {int(i): s for i, s in self.db.execute("SELECT id, slug FROM artifacts")}

    def artifacts_by_row(self, row_ids: Sequence[int]) -> dict[int, ArtifactRecord]:
        if not row_ids:
            return {}
        marks = ",".join("?" * len(row_ids))
        rows = list(self.db.query(f"SELECT * FROM artifacts WHERE id IN ({marks})", list(row_ids)))
        return {r.row_id: r for r in self._records(rows)}

    def _capability_records(self, where: str, params: list[Any]) -> list[CapabilityRecord]:
        rows = list(self.db.query(
            "SELECT c.id, c.cap_id, c.artifact_id, a.slug, c.doc, c.index_text"
            f" FROM capabilities c JOIN artifacts a ON a.id = c.artifact_id WHERE {where}",
            params,
        ))
        counts = self._match_counts("capability_id", [r["id"] for r in rows])
        return [
            CapabilityRecord(
                row_id=r["id"],
                cap_id=r["cap_id"],
                artifact_id=r["artifact_id"],
                artifact_slug=r["slug"],
                capability=Capability.model_validate_json(r["doc"]),
                index_text=r["index_text"],
                times_matched=counts.get(r["id"], (0, 0))[0],
                raw_matches=counts.get(r["id"], (0, 0))[1],
            )
            for r in rows
        ]

    def get_capability(self, cap_id: str) -> CapabilityRecord:
        found = self._capability_records("c.cap_id = ?", [cap_id])
        if not found:
            raise NotFound(f"no capability with id {cap_id!r}")
        return found[0]

    def capabilities_by_row(self, row_ids: Sequence[int]) -> dict[int, CapabilityRecord]:
        if not row_ids:
            return {}
        marks = ",".join("?" * len(row_ids))
        return {r.row_id: r for r in self._capability_records(f"c.id IN ({marks})", list(row_ids))}

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
        for row in self.db.query("SELECT * FROM artifacts ORDER BY slug"):
            yield self._artifact_from_row(row)

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
