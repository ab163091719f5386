"""The PostgreSQL catalog store: the same rows as the SQLite one (manifest JSON per artifact and
per capability, the text the retrievers index, content hashes), parsed once and kept.

Catalog writes take an advisory lock, so replicas that start together on an empty database
ingest the bundled catalog one after the other (the second finds it unchanged) instead of
failing on each other's slugs.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import psycopg

from matchgraph.engine.catalog.ingest import UpsertReport
from matchgraph.engine.catalog.models import Artifact, Capability
from matchgraph.engine.errors import NotFound
from matchgraph.engine.store.postgres.database import DatabaseUnavailable, PostgresDatabase, now
from matchgraph.engine.store.postgres.schema import CATALOG_LOCK
from matchgraph.engine.store.records import (
    CapabilityFacet,
    IndexableCapability,
    StoredArtifact,
    StoredCapability,
)

PARSE_CACHE_SIZE = 20_000
T = TypeVar("T")


def _from_known(known: dict[int, T], row_ids: Sequence[int]) -> dict[int, T]:
    """The rows last read, if every one asked for was; else the outage is the caller's to see."""
    if not all(r in known for r in row_ids):
        raise DatabaseUnavailable("the database is unavailable and these rows were not read before it went")
    return {r: known[r] for r in row_ids}


def _hash(doc: str) -> str:
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()


class PostgresCatalog:
    def __init__(self, database: PostgresDatabase):
        self.database = database
        self._parsed: dict[tuple[int, str], Artifact | Capability] = {}
        self._parsed_lock = threading.Lock()
        # the last rows read, by row id: what searches are answered with while the database is down
        self._known_artifacts: dict[int, StoredArtifact] = {}
        self._known_capabilities: dict[int, StoredCapability] = {}

    # -- writes ------------------------------------------------------------------------
    def upsert_artifacts(self, artifacts: Sequence[Artifact]) -> UpsertReport:
        report = UpsertReport()
        with self.database.transaction(lock=CATALOG_LOCK) as conn:
            for artifact in artifacts:
                self._upsert_one(conn, artifact, report)
        return report

    def _upsert_one(self, conn: psycopg.Connection[Any], artifact: Artifact, report: UpsertReport) -> None:
        body = artifact.model_dump(mode="json", exclude={"capabilities"})
        doc = json.dumps(body, sort_keys=True, ensure_ascii=False)
        caps = [c.model_dump(mode="json") for c in artifact.capabilities]
        doc_hash = _hash(doc + json.dumps(caps, sort_keys=True, ensure_ascii=False))
        row = conn.execute("SELECT id, doc_hash FROM artifacts WHERE slug = %s", (artifact.slug,)).fetchone()
        if row is not None and row[1] == doc_hash:
            report.unchanged.append(artifact.slug)
            return
        values = (
            artifact.name, artifact.type.value, artifact.pricing.model.value, int(artifact.pricing.free_tier),
            json.dumps(artifact.categories), json.dumps(artifact.tags),
            artifact.updated_at.isoformat() if artifact.updated_at else None, doc, doc_hash, now(),
        )
        if row is None:
            inserted = conn.execute(
                "INSERT INTO artifacts (name, type, pricing_model, free_tier, categories, tags, updated_at,"
                " doc, doc_hash, ingested_at, slug) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) RETURNING id",
                (*values, artifact.slug),
            ).fetchone()
            assert inserted is not None
            artifact_id = int(inserted[0])
            report.new.append(artifact.slug)
        else:
            artifact_id = int(row[0])
            conn.execute(
                "UPDATE artifacts SET name=%s, type=%s, pricing_model=%s, free_tier=%s, categories=%s,"
                " tags=%s, updated_at=%s, doc=%s, doc_hash=%s, ingested_at=%s WHERE id=%s",
                (*values, artifact_id),
            )
            report.updated.append(artifact.slug)
        keep: list[str] = []
        rows = []
        for position, cap in enumerate(artifact.capabilities):
            cap_id = artifact.capability_id(cap)
            keep.append(cap_id)
            rows.append((cap_id, artifact_id, position, cap.name, cap.index_text(),
                         json.dumps(cap.model_dump(mode="json"), sort_keys=True, ensure_ascii=False),
                         cap.content_hash()))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO capabilities (cap_id, artifact_id, position, name, index_text, doc,"
                " content_hash) VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (cap_id) DO UPDATE SET"
                " artifact_id=excluded.artifact_id, position=excluded.position, name=excluded.name,"
                " index_text=excluded.index_text, doc=excluded.doc, content_hash=excluded.content_hash",
                rows,
            )
        cur2 = conn.execute(
            "DELETE FROM capabilities WHERE artifact_id = %s AND NOT (cap_id = ANY(%s))", (artifact_id, keep)
        )
        report.capabilities_removed += cur2.rowcount

    # -- reads -------------------------------------------------------------------------
    def _remember(self, key: tuple[int, str], value: Any) -> None:
        with self._parsed_lock:
            if len(self._parsed) >= PARSE_CACHE_SIZE:
                self._parsed.pop(next(iter(self._parsed)))
            self._parsed[key] = value

    def _artifacts(self, wanted: Sequence[tuple[int, str]]) -> dict[int, Artifact]:
        """Parse artifacts (with their capabilities), reusing earlier parses keyed by (row id,
        content hash); the ones not cached are read in two queries, not two per artifact."""
        out: dict[int, Artifact] = {}
        missing = []
        for row_id, doc_hash in wanted:
            cached = self._parsed.get((row_id, doc_hash))
            if isinstance(cached, Artifact):
                out[row_id] = cached
            else:
                missing.append(row_id)
        if not missing:
            return out
        docs = dict(self.database.rows("SELECT id, doc FROM artifacts WHERE id = ANY(%s)", (missing,)))
        caps: dict[int, list[Capability]] = {}
        for artifact_id, doc in self.database.rows(
            "SELECT artifact_id, doc FROM capabilities WHERE artifact_id = ANY(%s) ORDER BY artifact_id,"
            " position", (missing,)
        ):
            caps.setdefault(int(artifact_id), []).append(Capability.model_validate_json(doc))
        hashes = dict(wanted)
        for row_id, doc in docs.items():
            artifact = Artifact.model_validate({**json.loads(doc), "capabilities": caps.get(int(row_id), [])})
            self._remember((int(row_id), hashes[int(row_id)]), artifact)
            out[int(row_id)] = artifact
        return out

    def _capability(self, row_id: int, content_hash: str, doc: str | None = None) -> Capability:
        key = (-row_id, content_hash)  # negative ids keep capabilities apart from artifacts
        cached = self._parsed.get(key)
        if isinstance(cached, Capability):
            return cached
        if doc is None:
            found = self.database.one("SELECT doc FROM capabilities WHERE id = %s", (row_id,))
            if found is None:
                raise NotFound(f"no capability row {row_id}")
            doc = str(found[0])
        capability = Capability.model_validate_json(doc)
        self._remember(key, capability)
        return capability

    def indexable_capabilities(self) -> list[IndexableCapability]:
        return [
            IndexableCapability(int(i), c, t, h)
            for i, c, t, h in self.database.rows(
                "SELECT id, cap_id, index_text, content_hash FROM capabilities ORDER BY id")
        ]

    def capability_facets(self) -> list[CapabilityFacet]:
        rows = self.database.rows(
            "SELECT c.id, a.id, a.type, a.pricing_model, a.free_tier, a.categories, a.tags"
            " FROM capabilities c JOIN artifacts a ON a.id = c.artifact_id ORDER BY c.id"
        )
        return [
            CapabilityFacet(int(r[0]), int(r[1]), r[2], r[3], bool(r[4]), tuple(json.loads(r[5])),
                            tuple(json.loads(r[6])))
            for r in rows
        ]

    def iter_artifacts(self) -> Iterator[Artifact]:
        for stored in self._stored("ORDER BY slug COLLATE \"C\"", ()):
            yield stored.artifact

    def catalog_hash(self) -> str:
        digest = hashlib.sha256()
        for cap_id, content_hash in self.database.rows(
            "SELECT cap_id, content_hash FROM capabilities ORDER BY cap_id COLLATE \"C\""
        ):
            digest.update(f"{cap_id}\0{content_hash}\n".encode())
        return digest.hexdigest()

    def _stored(self, where: str, params: Sequence[Any]) -> list[StoredArtifact]:
        rows = [(int(i), str(h)) for i, h in
                self.database.rows(f"SELECT id, doc_hash FROM artifacts {where}", params)]
        parsed = self._artifacts(rows)
        return [StoredArtifact(i, parsed[i]) for i, _ in rows if i in parsed]

    def artifact(self, slug: str) -> StoredArtifact:
        found = self._stored("WHERE slug = %s", (slug,))
        if not found:
            raise NotFound(f"no artifact with slug {slug!r}")
        return found[0]

    def artifact_page(self, limit: int, offset: int) -> tuple[list[StoredArtifact], int]:
        page = self._stored("ORDER BY slug COLLATE \"C\" LIMIT %s OFFSET %s", (limit, offset))
        return page, self.database.count("artifacts")

    def artifacts_by_row(self, row_ids: Sequence[int]) -> dict[int, StoredArtifact]:
        """By row id; while the database is down, from the rows last read (when all are known)."""
        if not row_ids:
            return {}
        try:
            found = {r.row_id: r for r in self._stored("WHERE id = ANY(%s)", (list(row_ids),))}
        except DatabaseUnavailable:
            return _from_known(self._known_artifacts, row_ids)
        self._known_artifacts.update(found)
        return found

    def _capabilities(self, where: str, params: Sequence[Any]) -> list[StoredCapability]:
        rows = self.database.rows(
            "SELECT c.id, c.cap_id, c.artifact_id, a.slug, c.content_hash, c.index_text, c.doc"
            f" FROM capabilities c JOIN artifacts a ON a.id = c.artifact_id WHERE {where}",
            params,
        )
        return [
            StoredCapability(int(row_id), cap_id, int(artifact_id), slug,
                             self._capability(int(row_id), content_hash, doc), index_text)
            for row_id, cap_id, artifact_id, slug, content_hash, index_text, doc in rows
        ]

    def capability(self, cap_id: str) -> StoredCapability:
        found = self._capabilities("c.cap_id = %s", (cap_id,))
        if not found:
            raise NotFound(f"no capability with id {cap_id!r}")
        return found[0]

    def capabilities_by_row(self, row_ids: Sequence[int]) -> dict[int, StoredCapability]:
        if not row_ids:
            return {}
        try:
            found = {c.row_id: c for c in self._capabilities("c.id = ANY(%s)", (list(row_ids),))}
        except DatabaseUnavailable:
            return _from_known(self._known_capabilities, row_ids)
        self._known_capabilities.update(found)
        return found

    def capability_ids_of(self, artifact_id: int) -> dict[int, str]:
        return {int(i): c for i, c in self.database.rows(
            "SELECT id, cap_id FROM capabilities WHERE artifact_id = %s", (artifact_id,))}

    def sizes(self) -> tuple[int, int]:
        return self.database.count("artifacts"), self.database.count("capabilities")
