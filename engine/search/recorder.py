"""The match log's background writer: searches are answered first and written after.

One thread owns the writes. It collects what searches hand it and commits in batches
(at most ``batch_size`` searches, or whatever arrived within ``flush_seconds``), so the
request path only appends to a queue; when ``max_pending`` are waiting, the request path waits
for the writer, so a SIGKILL loses at most that many acknowledged searches. ``close()``
drains the queue before returning: every search acknowledged before a clean shutdown is in the
database afterwards.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable

from matchgraph.engine.store.contracts import MatchLog
from matchgraph.engine.store.records import SearchRecord

logger = logging.getLogger(__name__)
_STOP = object()


class MatchRecorder:
    def __init__(
        self, matchlog: MatchLog, release: Callable[[], None], batch_size: int = 500,
        flush_seconds: float = 0.5, nice: int = 0, max_pending: int = 256,
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
            while self._submitted - self._written - self._failed >= self.max_pending and not self._closed:
                self._cond.wait(1.0)
            self._submitted += 1
        self._queue.put(record)

    @property
    def thread_id(self) -> int | None:
        """The writer thread's native id (what ``ps -L`` and /proc show), once it runs."""
        return self._thread.native_id

    @property
    def pending(self) -> int:
        with self._cond:
            return self._submitted - self._written - self._failed

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything submitted so far is committed (or failed); True if done."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._submitted
            while self._written + self._failed < target:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

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
            item = self._queue.get()
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
        self._release()

    def _write(self, batch: list[SearchRecord]) -> None:
        if not batch:
            return
        try:
            self.matchlog.record_searches(batch)
            ok, bad = len(batch), 0
        except Exception:  # a failed batch is logged, never allowed to kill the writer
            logger.exception("could not record %d searches", len(batch))
            ok, bad = 0, len(batch)
        with self._cond:
            self._written += ok
            self._failed += bad
            self._cond.notify_all()
