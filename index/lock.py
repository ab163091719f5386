"""One index job at a time: an advisory lock file under the index root.

The lock is an ``flock`` on ``reindex.lock``, so the operating system releases it when
its holder dies, however it dies. The file also records who holds it; a job that finds
the record of a holder that is gone says so (a stale lock) and clears it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from matchgraph.index.errors import JobRunning

logger = logging.getLogger(__name__)
LOCK_FILE = "reindex.lock"


def _since(holder: str) -> str:
    """When the holder started, from its record; callers never see its process id or the
    lock's path (the log does)."""
    try:
        started = json.loads(holder).get("started_at")
    except (ValueError, AttributeError):
        return ""
    return f" (started {started})" if isinstance(started, str) else ""


class JobLock:
    def __init__(self, root: Path, wait: bool = False, on_wait: Callable[[str], None] | None = None):
        """``wait``: block until the lock is free instead of raising ``JobRunning``; ``on_wait``
        is told (with a sentence to show) when that blocking begins."""
        self.root = root
        self.on_wait = on_wait
        self.path = root / LOCK_FILE
        self.wait = wait
        self.stale: dict[str, object] | None = None  # the record a dead holder left behind
        self._fh: int | None = None

    def __enter__(self) -> JobLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode(errors="replace").strip()
            if self.wait:
                if self.on_wait is not None:
                    self.on_wait(f"waiting for another index job{_since(holder)} to finish")
                os.lseek(fd, 0, os.SEEK_SET)
                fcntl.flock(fd, fcntl.LOCK_EX)
                return self._hold(fd)
            os.close(fd)
            logger.info("index job lock %s is held by %s", self.path, holder or "an unknown job")
            raise JobRunning(f"another index job is running{_since(holder)}; wait for it to finish") from None
        return self._hold(fd)

    def _hold(self, fd: int) -> JobLock:
        left = os.read(fd, 4096).decode(errors="replace").strip()
        if left:  # we hold the lock, so whoever wrote this is gone without cleaning up
            try:
                record = json.loads(left)
            except ValueError:
                record = None
            self.stale = record if isinstance(record, dict) else {"raw": left}
            logger.warning("cleared a stale index-job lock left by %s", left)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        body = {"pid": os.getpid(), "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
        os.write(fd, json.dumps(body).encode())
        os.fsync(fd)
        self._fh = fd
        return self

    @property
    def held(self) -> bool:
        return self._fh is not None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fh is None:
            return
        os.ftruncate(self._fh, 0)  # a clean exit leaves no record behind
        fcntl.flock(self._fh, fcntl.LOCK_UN)
        os.close(self._fh)
        self._fh = None
