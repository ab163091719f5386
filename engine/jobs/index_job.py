"""The one index job: lock, build, verify, switch, rank, prune, and a record of every run.

Every way of building an index goes through it: `matchgraph index` (always builds, waiting
for a running job), `matchgraph reindex` and the API's re-index (build only when the catalog
or the model changed; refused while another job runs), the server's first start and its
periodic runs, and `eval`. So two builds never race on the versions directory, and pruning
(which deletes half-written leftovers) only ever runs under the same lock as the builds.

1. Take the job lock (a stale lock from a dead job is reported and cleared, and its
   unfinished run is marked ``killed``).
2. Unless forced, stop when the catalog and model are what the current version was built
   from (``unchanged``); otherwise embed only what changed, write a new version, verify it
   and switch ``CURRENT`` atomically (``matchgraph.index.builder``).
3. Recompute the match graph and scores when they are stale or a version was published.
4. Keep the newest ``keep_versions`` versions, delete older ones and half-written leftovers.

A kill at any point leaves the served version whole: nothing a reader can see changes before
the atomic switch, and the switch itself is one rename.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from matchgraph.engine.errors import JobRunning, MatchgraphError
from matchgraph.engine.evidence.rank_job import RankSummary, rank_is_stale
from matchgraph.engine.settings import IndexSettings
from matchgraph.engine.store.contracts import Stores
from matchgraph.engine.store.records import ReindexRun
from matchgraph.index.builder import Progress, build_index, follow_database
from matchgraph.index.embedding.embedder import Embedder
from matchgraph.index.faults import checkpoint
from matchgraph.index.lock import JobLock
from matchgraph.index.versions import (
    VersionManifest,
    current_version,
    load_version,
    prune_versions,
    read_manifest,
    versions_dir,
)

if TYPE_CHECKING:
    from matchgraph.index.pgvector import PgVectorStore

logger = logging.getLogger(__name__)


def shared_store() -> PgVectorStore:
    """The process's pgvector store (psycopg is imported only when pgvector is configured)."""
    from matchgraph.index.pgvector import shared_store as store

    return store()


@dataclass(frozen=True)
class IndexReport:
    run: ReindexRun
    stale_lock: dict[str, object] | None
    removed_versions: list[str]
    rank: RankSummary | None
    manifest: VersionManifest | None = None  # of the version this run published, if it did


class IndexJob:
    def __init__(
        self,
        stores: Stores,
        settings: IndexSettings,
        root: Path,
        embedder: Callable[[], Embedder],
        rank: Callable[[], RankSummary | None],
        published: Callable[[], None],
    ):
        """``embedder`` gives the model (loaded on first use); ``rank`` recomputes the graph and
        the scores over the version being served; ``published`` is told when a new version is
        current, so this process serves it at once."""
        self.stores = stores
        self.settings = settings
        self.root = root
        self._embedder = embedder
        self._rank = rank
        self._published = published
        self._follow_error = ""  # said once, not every second

    @property
    def shared(self) -> bool:
        """The versions live in PostgreSQL (pgvector), shared by every replica."""
        return self.settings.dense_backend == "pgvector"

    @contextmanager
    def _cluster_lock(self, wait: bool) -> Iterator[None]:
        """With pgvector, the job also holds an advisory lock in PostgreSQL: one index job at a
        time across every replica (PostgreSQL releases it if the holder dies)."""
        if not self.shared:
            yield
            return
        with shared_store().cluster_lock(wait) as held:
            if not held:
                raise JobRunning("another replica is running the index job; wait for it to finish")
            yield

    def follow(self) -> str | None:
        """With pgvector: serve the version PostgreSQL names, if it is another than this replica's
        (a replica's follower calls this every second). None when nothing changed or a job of
        this replica is running (it follows first thing itself)."""
        if not self.shared:
            return None
        try:
            with JobLock(self.root) as lock:
                name = follow_database(lock, self.root, self._embedder(), self.settings)
        except JobRunning:
            return None
        except MatchgraphError as exc:  # the database is down, or serves another model's version
            if str(exc) != self._follow_error:
                logger.warning("cannot follow the shared index: %s", exc)
            self._follow_error = str(exc)
            return None
        self._follow_error = ""
        if name is not None:
            self._published()
        return name

    def _current(self) -> tuple[set[int], str | None, str | None]:
        """Capability ids, catalog hash and model fingerprint of the current version, if any."""
        name = current_version(self.root)
        if name is None:
            return set(), None, None
        try:
            version = load_version(versions_dir(self.root) / name)
        except MatchgraphError:
            return set(), None, None
        manifest = version.manifest
        return {int(i) for i in version.ids}, manifest.catalog_hash, manifest.model_fingerprint

    def run(
        self, *, force: bool = False, wait: bool = False, progress: Progress | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> IndexReport:
        """One run of the job. ``force`` builds even when nothing changed; ``wait`` waits for a
        running job instead of failing with ``JobRunning`` (``on_wait`` hears when it starts to)."""
        admin, catalog = self.stores.admin, self.stores.catalog
        checkpoint("job-started")
        with JobLock(self.root, wait=wait, on_wait=on_wait) as lock, self._cluster_lock(wait):
            checkpoint("lock-taken")
            if self.shared and follow_database(lock, self.root, self._embedder(), self.settings):
                self._published()  # start from what the other replicas serve
            if lock.stale is not None:
                admin.abandon_running_runs(f"its job died (stale lock {lock.stale})")
            run = ReindexRun(id=admin.start_reindex_run())
            manifest = None
            try:
                before, built_from, fingerprint = self._current()
                embedder = self._embedder()
                catalog_hash = catalog.catalog_hash()
                same = built_from == catalog_hash and fingerprint == embedder.fingerprint
                if same and not force:
                    count = len(before)
                    run = replace(run, outcome="unchanged", version=current_version(self.root),
                                  capabilities=count, embedded=0, reused=count, deleted=0)
                else:
                    docs = catalog.indexable_capabilities()
                    manifest = build_index(lock, self.root, docs, catalog_hash, embedder, self.settings,
                                           progress)
                    self._published()
                    after = {c.row_id for c in docs}
                    run = replace(run, outcome="ok", version=manifest.version, capabilities=manifest.count,
                                  embedded=manifest.embedded, reused=manifest.reused,
                                  deleted=len(before - after))
                checkpoint("before-rank")
                ranked = self._rank() if run.outcome == "ok" or rank_is_stale(self.stores) else None
                checkpoint("after-rank")
                checkpoint("before-prune")
                removed = prune_versions(self.root, self.settings.keep_versions)
                if self.shared:
                    removed += [f"{name} (in PostgreSQL)" for name in
                                shared_store().prune(self.settings.keep_versions)]
                if lock.stale is not None:
                    run = replace(run, note=f"cleared a stale lock left by {lock.stale}")
                admin.finish_reindex_run(run)
            except BaseException as exc:
                admin.finish_reindex_run(replace(run, outcome="failed", note=f"{type(exc).__name__}: {exc}"))
                raise
        logger.info("index job run %s: %s (%s)", run.id, run.outcome, run.version)
        return IndexReport(run, lock.stale, removed, ranked, manifest)

    def describe(self) -> str:
        name = current_version(self.root)
        if name is None:
            return "no index version yet"
        manifest = read_manifest(versions_dir(self.root) / name)
        return f"{name}: {manifest.count} capabilities, {manifest.model}, {manifest.dense_kind}"


class PeriodicJob:
    """Runs ``job`` every ``interval`` seconds in a background thread: the re-index job
    (``serve --reindex-every``) and the evidence refresh (``evidence_refresh_seconds``)."""

    def __init__(self, name: str, job: Callable[[], object], interval: float, nice: int = 0):
        """``nice`` lowers the thread's CPU priority by that much (Linux), so that searches
        get the cores first while the job runs."""
        self.name = name
        self.job = job
        self.interval = interval
        self.nice = nice
        self.stop = threading.Event()
        self.runs = 0
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        if self.nice and sys.platform == "linux":  # elsewhere it would lower the whole process
            tid = threading.get_native_id()
            try:
                now = os.getpriority(os.PRIO_PROCESS, tid)
                os.setpriority(os.PRIO_PROCESS, tid, min(19, now + self.nice))
            except OSError:
                logger.warning("could not lower the priority of %s", self.name, exc_info=True)
        while not self.stop.wait(self.interval):
            try:
                result = self.job()
                self.runs += 1
                logger.debug("%s: %s", self.name, result)
            except Exception:  # the server must outlive a failed job; the next run tries again
                logger.exception("%s failed", self.name)

    def close(self, timeout: float = 60.0) -> None:
        self.stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
