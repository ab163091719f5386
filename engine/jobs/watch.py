"""Watch manifest folders by polling, and call back when anything in them changes.

Polling (modification time and size of every manifest file) needs no platform-specific
notification API and works on network file systems.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from matchgraph.engine.catalog.manifests import MANIFEST_SUFFIXES

logger = logging.getLogger(__name__)
Snapshot = dict[str, tuple[float, int]]


def snapshot(paths: Sequence[Path]) -> Snapshot:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(p for p in path.rglob("*") if p.suffix in MANIFEST_SUFFIXES)
        elif path.exists():
            files.append(path)
    out: Snapshot = {}
    for f in files:
        try:
            stat = f.stat()
        except FileNotFoundError:
            continue
        out[str(f)] = (stat.st_mtime, stat.st_size)
    return out


def watch(
    paths: Sequence[Path], on_change: Callable[[], None], interval: float, stop: threading.Event,
) -> int:
    """Call ``on_change`` once at start and after every change; return how many calls ran."""
    calls = 0
    seen: Snapshot | None = None
    while not stop.is_set():
        now = snapshot(paths)
        if now != seen:
            seen = now
            try:
                on_change()
            except Exception:  # keep watching: a bad edit must not end the watcher
                logger.exception("re-ingest after a change failed")
            calls += 1
        stop.wait(interval)
    return calls
