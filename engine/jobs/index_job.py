"""The re-indexing job: incremental, crash-safe, one at a time, recorded.

1. Take the job lock (a stale lock from a dead job is reported and cleared, and its
   unfinished run is marked ``killed``).
2. If the catalog and model are what the current version was built from, stop there
   (``unchanged``); otherwise embed only what changed, write a new version, verify it,
   and switch ``CURRENT`` atomically (see ``index.builder`` and ``index.versions``).
3. Recompute the match graph and scores.
4. Keep the newest ``keep_versions`` versions, delete older ones and half-written leftovers.

Every run is a row in ``reindex_runs``; ``matchgraph reindex --status`` lists them.
A kill at any point leaves the served version whole: nothing a reader can see changes
before the atomic switch, and the switch itself is one rename.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace

from matchgraph.engine.errors import MatchgraphError
from matchgraph.engine.evidence.rank_job import RankSummary
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.store.base import ReindexRun
from matchgraph.index.builder import Progress
from matchgraph.index.faults import checkpoint
from matchgraph.index.lock import JobLock
from matchgraph.index.versions import (
    current_version,
    load_version,
    prune_versions,
    read_manifest,
    versions_dir,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReindexReport:
    run: ReindexRun
    stale_lock: dict[str, object] | None
    removed_versions: list[str]
    rank: RankSummary | None


def _current_ids(mg: Matchgraph) -> tuple[set[int], str | None, str | None]:
    """Capability ids, catalog hash and model fingerprint of the current version, if any."""
    root = mg.settings.index_root
    name = current_version(root)
    if name is None:
        return set(), None, None
    try:
        version = load_version(versions_dir(root) / name)
    except MatchgraphError:
        return set(), None, None
    return {int(i) for i in version.ids}, version.manifest.catalog_hash, version.manifest.model_fingerprint


def run_reindex(mg: Matchgraph, progress: Progress | None = None, force: bool = False) -> ReindexReport:
    store, settings = mg.store, mg.settings
    checkpoint("job-started")
    with JobLock(settings.index_root) as lock:
        checkpoint("lock-taken")
        if lock.stale is not None:
            store.abandon_running_runs(f"its job died (stale lock {lock.stale})")
        run = ReindexRun(id=store.start_reindex_run())
        try:
            before, built_from, fingerprint = _current_ids(mg)
            same = (built_from == store.catalog_hash() and fingerprint == mg.embedder.fingerprint)
            if same and not force:
                count = len(before)
                run = replace(run, outcome="unchanged", version=current_version(settings.index_root),
                              capabilities=count, embedded=0, reused=count, deleted=0)
            else:
                manifest = mg.build_index(progress)
                after = {c.row_id for c in store.indexable_capabilities()}
                run = replace(run, outcome="ok", version=manifest.version, capabilities=manifest.count,
                              embedded=manifest.embedded, reused=manifest.reused,
                              deleted=len(before - after))
            checkpoint("before-rank")
            ranked = mg.rank()
            checkpoint("after-rank")
            checkpoint("before-prune")
            removed = prune_versions(settings.index_root, settings.keep_versions)
            if lock.stale is not None:
                run = replace(run, note=f"cleared a stale lock left by {lock.stale}")
            store.finish_reindex_run(run)
        except BaseException as exc:
            store.finish_reindex_run(replace(run, outcome="failed", note=f"{type(exc).__name__}: {exc}"))
            raise
    logger.info("reindex run %s: %s (%s)", run.id, run.outcome, run.version)
    return ReindexReport(run, lock.stale, removed, ranked)


def describe_version(mg: Matchgraph) -> str:
    root = mg.settings.index_root
    name = current_version(root)
    if name is None:
        return "no index version yet"
    manifest = read_manifest(versions_dir(root) / name)
    return f"{name}: {manifest.count} capabilities, {manifest.model}, {manifest.dense_kind}"


class PeriodicReindexer:
    """Runs the job every ``interval`` seconds in a background thread (``serve --reindex-every``)."""

    def __init__(self, mg: Matchgraph, interval: float):
        self.mg = mg
        self.interval = interval
        self.stop = threading.Event()
        self.runs = 0
        self._thread = threading.Thread(target=self._loop, name="reindexer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                report = run_reindex(self.mg)
                self.runs += 1
                logger.info("periodic reindex: %s", report.run.outcome)
            except Exception:  # the server must outlive a failed job; the run row says why
                logger.exception("periodic reindex failed")

    def close(self, timeout: float = 60.0) -> None:
        self.stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
