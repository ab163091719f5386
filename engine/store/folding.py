"""The arithmetic of the evidence fold, shared by every match-log store.

A store reads the new match rows ``(id, client, normalised query, day, artifact_id,
capability_id, artifact_rank)`` and the units they touch, and writes what these functions
say changed; only the SQL differs between stores.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from matchgraph.engine.store.records import SearchRecord

SEP = "\x1f"


def unit_key(client_hash: str | None, normalized_query: str, day: str) -> str:
    """One unit of evidence: a client asking one need on one day."""
    return f"{client_hash or ''}{SEP}{normalized_query}{SEP}{day}"


def batch_counts(
    records: Sequence[SearchRecord],
) -> tuple[Counter[tuple[int, int]], set[tuple[int, int, str]]]:
    """What a batch of searches adds to the live counters: rows per (kind, id) — kind 0 an
    artifact, 1 a capability — and the (kind, id, unit) pairs it touches, so a store moves the
    counters by whole batches (a handful of statements, not two per match)."""
    raw: Counter[tuple[int, int]] = Counter()
    units: set[tuple[int, int, str]] = set()
    for r in records:
        unit = unit_key(r.client_hash, r.normalized_query, r.created_at.date().isoformat())
        keys = {(0, m.artifact_row_id) for m in r.matches}
        keys |= {(1, m.capability_row_id) for m in r.matches}
        raw.update(keys)
        units.update((kind, row_id, unit) for kind, row_id in keys)
    return raw, units


def fresh_units(rows: Sequence[tuple[Any, ...]], top_k: int) -> dict[str, set[int]]:
    """The top-``top_k`` artifacts the new rows add to each unit they belong to."""
    fresh: dict[str, set[int]] = {}
    for _, client, query, day, artifact_id, _, artifact_rank in rows:
        if artifact_rank <= top_k:
            fresh.setdefault(unit_key(client, query, day), set()).add(int(artifact_id))
    return fresh


@dataclass
class UnitChanges:
    new_units: int = 0
    appearances: Counter[int] = field(default_factory=Counter)  # artifact -> units it newly appears in
    pairs: Counter[tuple[int, int]] = field(default_factory=Counter)  # (a < b) -> new co-appearances
    members: list[tuple[str, int]] = field(default_factory=list)  # (unit, artifact) to add
    clients: list[tuple[int, str]] = field(default_factory=list)  # (artifact, verified client), sorted


def unit_changes(fresh: Mapping[str, set[int]], known: Mapping[str, set[int]]) -> UnitChanges:
    """What ``fresh`` adds to units that already held ``known``: counts move only by what is new."""
    out = UnitChanges()
    for unit, artifacts in fresh.items():
        before = known.get(unit, set())
        added = sorted(artifacts - before)
        if not added:
            continue
        out.new_units += not before
        out.appearances.update(added)
        out.pairs.update(combinations(added, 2))
        out.pairs.update((min(a, o), max(a, o)) for a in added for o in before)
        out.members += [(unit, a) for a in added]
    out.clients = sorted({(a, unit.split(SEP, 1)[0]) for unit, a in out.members if not unit.startswith(SEP)})
    return out


@dataclass
class QueryTallies:
    searches: Counter[tuple[str, int]] = field(default_factory=Counter)  # (query, capability) -> rows
    artifact_of: dict[tuple[str, int], int] = field(default_factory=dict)
    seen: list[tuple[str, int, str]] = field(default_factory=list)  # (query, capability, client), sorted

    def count_rows(self, new_clients: Mapping[tuple[str, int], int]) -> list[tuple[str, int, int, int, int]]:
        """(query, capability, artifact, searches, new clients) to add, in key order."""
        return [(q, c, self.artifact_of[(q, c)], n, new_clients.get((q, c), 0))
                for (q, c), n in sorted(self.searches.items())]


def query_tallies(rows: Sequence[tuple[Any, ...]]) -> QueryTallies:
    """Searches per (normalised query, capability) and the verified clients that asked it."""
    out = QueryTallies()
    seen: set[tuple[str, int, str]] = set()
    for _, client, query, _, artifact_id, capability_id, _ in rows:
        key = (query, int(capability_id))
        out.searches[key] += 1
        out.artifact_of[key] = int(artifact_id)
        if client:
            seen.add((query, int(capability_id), client))
    out.seen = sorted(seen)
    return out
