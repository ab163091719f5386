"""The index version a process serves: found through CURRENT, switched without a restart,
and replaced by the last good version when the current one cannot be loaded.

A server asks ``current()`` once per request. At most every ``poll_seconds`` it reads
CURRENT again; when the name changed it loads the new version (and whatever the caller
attaches to a version, e.g. the catalog facts filters need) and switches. A request keeps the
pair it started with. ``refresh()`` makes the next ``current()`` look at once (a job that
just published in this process calls it).

When the named version cannot be loaded, the process keeps serving the version it had,
or, on a first load, the newest older version that loads, and says so in ``fallback_note``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from matchgraph.index.errors import IndexNotReady, MatchgraphError
from matchgraph.index.versions import IndexVersion, current_version, list_versions, versions_dir

logger = logging.getLogger(__name__)
T = TypeVar("T")
POLL_SECONDS = 1.0


class ServedIndex(Generic[T]):
    def __init__(
        self,
        root: Path,
        open_version: Callable[[Path], IndexVersion],
        attach: Callable[[IndexVersion], T],
        poll_seconds: float = POLL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        """``open_version`` loads a version directory (checking it fits the model in use);
        ``attach`` makes what the caller serves beside each version."""
        self.root = root
        self._open = open_version
        self._attach = attach
        self._poll = poll_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._served: tuple[IndexVersion, T] | None = None
        self._name: str | None = None
        self._checked_at: float | None = None
        self.fallback_note: str | None = None

    def current(self) -> tuple[IndexVersion, T]:
        """The version to answer this request with, and what is attached to it."""
        served, checked = self._served, self._checked_at
        if served is not None and checked is not None and self._clock() - checked < self._poll:
            return served
        with self._lock:
            self._checked_at = self._clock()
            name = current_version(self.root)
            if name is None:
                raise IndexNotReady("no index has been built yet; run `matchgraph index`")
            if self._served is not None and name == self._name:
                return self._served
            try:
                version = self._open(versions_dir(self.root) / name)
                self.fallback_note = None
            except IndexNotReady as exc:
                version = self._fallback(name, exc)
            self._served = (version, self._attach(version))
            self._name = name
            return self._served

    def refresh(self) -> None:
        """Look at CURRENT on the next ``current()``, whatever the poll interval."""
        self._checked_at = None

    def reattach(self) -> None:
        """Make the attached part anew for the version served (its inputs changed)."""
        with self._lock:
            if self._served is not None:
                self._served = (self._served[0], self._attach(self._served[0]))

    @property
    def status(self) -> str:
        """'ok', 'degraded' (serving another version than CURRENT names), 'damaged' (the served
        version's files changed on disk since they were loaded) or 'no-index'."""
        try:
            version, _ = self.current()
        except MatchgraphError:
            return "no-index"
        if version.damage():
            return "damaged"
        return "degraded" if self.fallback_note else "ok"

    def _fallback(self, broken: str, error: IndexNotReady) -> IndexVersion:
        if self._served is not None:
            self.fallback_note = f"version {broken} is damaged ({error}); still serving the last good one"
            logger.error(self.fallback_note)
            return self._served[0]
        for name in reversed(list_versions(self.root)):
            if name == broken:
                continue
            try:
                version = self._open(versions_dir(self.root) / name)
            except MatchgraphError:
                continue
            self.fallback_note = f"version {broken} is damaged ({error}); serving {name} instead"
            logger.error(self.fallback_note)
            return version
        raise error
