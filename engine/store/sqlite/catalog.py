"""The SQLite catalog store: artifacts and their capabilities, parsed once and kept.

Each artifact row holds its manifest (without capabilities) as JSON; each capability row its
own JSON, the text the retrievers index and a content hash, so the index job can tell what
changed.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import sqlite_utils

from matchgraph.engine.catalog.ingest import UpsertReport
from matchgraph.engine.catalog.models import Artifact, Capability
from matchgraph.engine.errors import NotFound
from matchgraph.engine.store.records import (
    CapabilityFacet,
    IndexableCapability,
    StoredArtifact,
    StoredCapability,
)
from matchgraph.engine.store.sqlite.database import SQLiteDatabase, now

PARSE_CACHE_SIZE = 20_000


def _hash(doc: str) -> str:
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()


class SQLiteCatalog:
    def __init__(self, database: SQLiteDatabase):
        self.database = database
        self._parsed: dict[tuple[int, str], Artifact | Capability] = {}
        self._parsed_lock = threading.Lock()

    @property
    def db(self) -> sqlite_utils.Database:
        return self.database.db

    # -- writes ------------------------------------------------------------------------
    def upsert_artifacts(self, artifacts: Sequence[Artifact]) -> UpsertReport:
        report = UpsertReport()
        with self.database.transaction() as conn:
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
            now(),
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


    # -- reads -------------------------------------------------------------------------
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

    def _stored(self, where: str, params: Sequence[Any]) -> list[StoredArtifact]:
        rows = self.db.execute(f"SELECT id, doc_hash FROM artifacts {where}", list(params)).fetchall()
        return [StoredArtifact(int(i), self._artifact(int(i), h)) for i, h in rows]

    def artifact(self, slug: str) -> StoredArtifact:
        found = self._stored("WHERE slug = ?", [slug])
        if not found:
            raise NotFound(f"no artifact with slug {slug!r}")
        return found[0]

    def artifact_page(self, limit: int, offset: int) -> tuple[list[StoredArtifact], int]:
        page = self._stored("ORDER BY slug LIMIT ? OFFSET ?", [limit, offset])
        return page, self.database.count("artifacts")

    def artifacts_by_row(self, row_ids: Sequence[int]) -> dict[int, StoredArtifact]:
        if not row_ids:
            return {}
        marks = ",".join("?" * len(row_ids))
        return {r.row_id: r for r in self._stored(f"WHERE id IN ({marks})", row_ids)}

    def _capabilities(self, where: str, params: list[Any]) -> list[StoredCapability]:
        rows = self.db.execute(
            "SELECT c.id, c.cap_id, c.artifact_id, a.slug, c.content_hash, c.index_text"
            f" FROM capabilities c JOIN artifacts a ON a.id = c.artifact_id WHERE {where}",
            params,
        ).fetchall()
        return [
            StoredCapability(int(row_id), cap_id, int(artifact_id), slug,
                             self._capability(int(row_id), content_hash), index_text)
            for row_id, cap_id, artifact_id, slug, content_hash, index_text in rows
        ]

    def capability(self, cap_id: str) -> StoredCapability:
        found = self._capabilities("c.cap_id = ?", [cap_id])
        if not found:
            raise NotFound(f"no capability with id {cap_id!r}")
        return found[0]

    def capabilities_by_row(self, row_ids: Sequence[int]) -> dict[int, StoredCapability]:
        if not row_ids:
            return {}
        marks = ",".join("?" * len(row_ids))
        return {c.row_id: c for c in self._capabilities(f"c.id IN ({marks})", list(row_ids))}

    def capability_ids_of(self, artifact_id: int) -> dict[int, str]:
        return {int(i): c for i, c in self.db.execute(
            "SELECT id, cap_id FROM capabilities WHERE artifact_id = ?", [artifact_id])}

    def sizes(self) -> tuple[int, int]:
        return self.database.count("artifacts"), self.database.count("capabilities")
