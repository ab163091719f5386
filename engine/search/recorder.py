"""The match log's background writer: searches are answered first and written after.

One thread owns the writes. It collects what searches hand it and commits in batches
(at most ``batch_size`` searches, or whatever arrived within ``flush_seconds``), so the
request path only appends to a queue; when ``max_pending`` are waiting, the request path waits
for the writer, so a SIGKILL loses at most that many acknowledged searches. ``close()``
drains the queue before returning: every search acknowledged before a clean shutdown is in the
database afterwards.

When the database is unreachable (``StoreUnavailable``: a PostgreSQL outage) the writer keeps
what it could not write, up to ``outage_buffer`` searches, and writes it, oldest first, once the
database answers again; searches keep being answered meanwhile and do not wait for the writer.
Beyond the bound new searches are dropped unrecorded and counted (``dropped``, in /healthz).
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable

from matchgraph.engine.errors import StoreUnavailable
from matchgraph.engine.store.contracts import MatchLog
from matchgraph.engine.store.records import SearchRecord

logger = logging.getLogger(__name__)
_STOP = object()


class MatchRecorder:
    def __init__(
        self, matchlog: MatchLog, release: Callable[[], None], batch_size: int = 500,
        flush_seconds: float = 0.5, nice: int = 0, max_pending: int = 256, outage_buffer: int = 10_000,
    ):
        """``nice`` lowers the writer thread's CPU priority by that much (Linux): a commit is
        a burst of CPU every ``flush_seconds`` that searches should not have to queue behind."""
        self.matchlog = matchlog
        self._release = release  # frees what the writer thread holds (its connection)
        self.nice = nice
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.max_pending = max_pending  # what a SIGKILL can lose at most: acknowledged, not yet written
        self._queue: queue.Queue[object] = queue.Queue()
        self._submitted = 0
        self._written = 0
        self._failed = 0
        self.outage_buffer = outage_buffer
        self._held: list[SearchRecord] = []  # not written while the database was down, oldest first
        self._dropped = 0  # not recorded: the database was down and the buffer full
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="match-recorder", daemon=True)
        self._thread.start()

    def submit(self, record: SearchRecord) -> None:
        """Queue a search for writing. When ``max_pending`` searches are already waiting (the
        writer has fallen behind), wait for it first: back-pressure that bounds how many
        acknowledged searches a crash can lose."""
        if self._closed:
            raise RuntimeError("the match recorder is closed")
        with self._cond:
            while self._queued >= self.max_pending and not self._closed:
                self._cond.wait(1.0)
            self._submitted += 1
        self._queue.put(record)

    @property
    def thread_id(self) -> int | None:
        """The writer thread's native id (what ``ps -L`` and /proc show), once it runs."""
        return self._thread.native_id

    @property
    def _queued(self) -> int:
        """Submitted and not yet settled: written, failed, dropped, or held through an outage."""
        return self._submitted - self._written - self._failed - self._dropped - len(self._held)

    @property
    def pending(self) -> int:
        """Acknowledged searches not yet in the match log (held through an outage included)."""
        with self._cond:
            return self._submitted - self._written - self._failed - self._dropped

    @property
    def dropped(self) -> int:
        with self._cond:
            return self._dropped

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything submitted so far is committed (or failed, or held because the
        database is down); True if all of it is in the match log."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._submitted
            while self._written + self._failed + self._dropped + len(self._held) < target:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return not self._held

    def close(self, timeout: float = 30.0) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _yield_cpu(self) -> None:
        if self.nice <= 0 or sys.platform != "linux":  # elsewhere it would be the whole process
            return
        tid = threading.get_native_id()
        try:
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + self.nice))
        except OSError:
            logger.warning("could not lower the match writer's priority", exc_info=True)

    def _run(self) -> None:
        self._yield_cpu()
        stopping = False
        while not stopping:
            batch: list[SearchRecord] = []
            try:  # with searches held through an outage, wake up to try the database again
                item = self._queue.get(timeout=1.0 if self._held else None)
            except queue.Empty:
                item = None
            deadline = time.monotonic() + self.flush_seconds
            while True:
                if item is _STOP:
                    stopping = True
                elif isinstance(item, SearchRecord):
                    batch.append(item)
                if stopping or len(batch) >= self.batch_size:
                    break
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
            if stopping:  # drain whatever is left behind the stop mark
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if isinstance(item, SearchRecord):
                        batch.append(item)
            self._write(batch)
        if self._held:
            logger.error("%d recorded searches are lost: the match log was unreachable at shutdown",
                         len(self._held))
        self._release()

    def _write(self, batch: list[SearchRecord]) -> None:
        with self._cond:  # what is held stays counted as held while it is tried again: searches
            todo = self._held + batch  # must not wait on the writer's attempt during an outage
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            try:
                self.matchlog.record_searches(chunk)
                ok, bad = len(chunk), 0
            except StoreUnavailable as exc:
                self._hold(todo[start:], exc)
                return
            except Exception:  # a failed batch is logged, never allowed to kill the writer
                logger.exception("could not record %d searches", len(chunk))
                ok, bad = 0, len(chunk)
            with self._cond:
                self._held = self._held[len(chunk) :]  # the held ones go first
                self._written += ok
                self._failed += bad
                self._cond.notify_all()

    def _hold(self, records: list[SearchRecord], why: Exception) -> None:
        """Keep what the database could not take, up to the bound; drop (and count) the rest."""
        with self._cond:
            kept = records[: self.outage_buffer]
            lost = len(records) - len(kept)
            first = not self._held
            self._held = kept
            self._dropped += lost
            self._cond.notify_all()
        if first:
            logger.warning("the match log is unreachable (%s); holding searches to write later", why)
        if lost:
            logger.warning("the match log is unreachable and %d searches are held: %d dropped (%d in all)",
                           len(kept), lost, self._dropped)
