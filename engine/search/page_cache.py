"""Ranked pages kept per index version, so a repeated search skips retrieval and fusion.

A search's ranking (which artifacts, which of their capabilities, in what order) depends
only on the query, its filters, its page and the index version answering it. The records
shown with it (names, prices, times matched) are read fresh for every search; only the
ranking is kept. Entries belong to one version token (the search engine passes the served
facets, made anew with every index version it serves): the first lookup under a newer token
empties the cache, so a re-index never serves a ranking from the version before it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class VersionedLRU(Generic[V]):
    """A least-recently-used map of at most ``size`` entries, all of one version."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._version: object = None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, version: object, key: Hashable) -> V | None:
        with self._lock:
            if version is not self._version:
                self._entries.clear()
                self._version = version
            value = self._entries.get(key)
            if value is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return value

    def put(self, version: object, key: Hashable, value: V) -> None:
        if self.size <= 0:
            return
        with self._lock:
            if version is not self._version:  # a newer version came in meanwhile
                return
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
