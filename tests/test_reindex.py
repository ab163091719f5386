from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from matchgraph.engine.errors import JobRunning, MatchgraphError
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.search.searcher import SearchRequest
from matchgraph.engine.settings import Settings
from matchgraph.index.faults import FAULT_ENV, POINTS
from matchgraph.index.lock import LOCK_FILE, JobLock
from matchgraph.index.versions import current_version, list_versions, load_version, versions_dir

from .conftest import FIXTURE_CATALOG, PROJECT


def edit_catalog(folder: Path, n: int) -> None:
    """Change one capability's text and drop another, as a day's catalog edits would."""
    path = folder / "vecstore.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["capabilities"][0]["description"] = (
        f"Revision {n}: stores embedding vectors in a navigable small-world graph and answers top-k "
        "cosine similarity queries in milliseconds, even with millions of vectors."
    )
    if n == 1:
        doc["capabilities"] = doc["capabilities"][:2]
    path.write_text(yaml.safe_dump(doc))


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    folder = tmp_path / "catalog"
    import shutil

    shutil.copytree(FIXTURE_CATALOG, folder)
    return folder


def test_incremental_reindex_embeds_only_what_changed(indexed_settings: Settings, catalog: Path) -> None:
    with Matchgraph(indexed_settings, record=False) as mg:
        first = mg.reindex()  # nothing changed since the fixture's index
        assert first.run.outcome == "unchanged" and first.run.embedded == 0
        edit_catalog(catalog, 1)
        mg.ingest([catalog])
        report = mg.reindex()
        runs = mg.index_runs()
    r = report.run
    assert (r.outcome, r.embedded, r.deleted, r.capabilities, r.reused) == ("ok", 1, 1, 10, 9)
    assert [x.outcome for x in runs] == ["ok", "unchanged", "ok"]  # the last built the fixture's index
    assert report.rank is not None and report.rank.artifacts == 5


def test_old_versions_are_pruned_but_never_the_current_one(indexed_settings: Settings) -> None:
    settings = indexed_settings.changed(keep_versions=2)
    with Matchgraph(settings, record=False) as mg:
        for _ in range(4):
            mg.reindex(force=True)
    root = settings.index_root
    assert len(list_versions(root)) == 2 and current_version(root) == list_versions(root)[-1]


def test_a_second_job_is_refused_while_one_runs(indexed_settings: Settings) -> None:
    with JobLock(indexed_settings.index_root), Matchgraph(indexed_settings, record=False) as mg, \
            pytest.raises(JobRunning, match="another index job"):
        mg.reindex(force=True)


def test_a_stale_lock_is_cleared_with_a_message(indexed_settings: Settings) -> None:
    with Matchgraph(indexed_settings, record=False) as mg:
        dead = mg.stores.admin.start_reindex_run()  # a run whose job died mid-way
        lock = indexed_settings.index_root / LOCK_FILE
        lock.write_text(json.dumps({"pid": 999_999, "started_at": "2026-01-01T00:00:00+00:00"}))
        report = mg.reindex(force=True)
        runs = {r.id: r for r in mg.index_runs()}
    assert report.stale_lock == {"pid": 999_999, "started_at": "2026-01-01T00:00:00+00:00"}
    assert runs[dead].outcome == "killed"
    assert runs[report.run.id].outcome == "ok" and "stale lock" in (runs[report.run.id].note or "")
    assert lock.read_text() == ""  # a clean exit leaves no record


KILL_SCRIPT = """
import sys
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.settings import Settings
with Matchgraph(Settings(), record=False) as mg:
    mg.reindex(force=True)
sys.exit(0)
"""


def assert_served_version_is_whole(settings: Settings) -> str:
    root = settings.index_root
    name = current_version(root)
    assert name is not None
    with Matchgraph(settings, record=False) as mg:
        version = load_version(versions_dir(root) / name, model_fingerprint=mg.embedder.fingerprint,
                               dimension=mg.embedder.dimension)
        result = mg.search(SearchRequest("vector database with filters", record=False))
        assert mg.served.fallback_note is None
    assert version.manifest.count == len(version.ids) > 0
    assert result.index_version == name and result.hits
    return name


@pytest.mark.slow
def test_sigkill_at_every_point_leaves_a_whole_version_and_the_next_run_finishes(
    indexed_settings: Settings, catalog: Path
) -> None:
    assert len(POINTS) >= 10
    env = {**os.environ, "MATCHGRAPH_DATA_DIR": str(indexed_settings.data_dir),
           "MATCHGRAPH_MODEL_CACHE_DIR": str(indexed_settings.index.resolved_cache_dir())}
    for n, point in enumerate(POINTS, start=2):
        edit_catalog(catalog, n)  # give the job something to embed
        with Matchgraph(indexed_settings, record=False) as mg:
            mg.ingest([catalog])
        before = current_version(indexed_settings.index_root)
        proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT], cwd=PROJECT, capture_output=True,
                              env={**env, FAULT_ENV: point}, timeout=300)
        assert proc.returncode == -9, (point, proc.stderr.decode()[-2000:])
        served = assert_served_version_is_whole(indexed_settings)
        switched = POINTS.index(point) >= POINTS.index("after-switch")
        assert (served != before) == switched, point
        with Matchgraph(indexed_settings, record=False) as mg:
            report = mg.reindex()
            assert report.run.outcome in {"ok", "unchanged"}, point
            if POINTS.index(point) >= POINTS.index("lock-taken"):
                assert report.stale_lock is not None, point
        assert_served_version_is_whole(indexed_settings)
        leftovers = list(versions_dir(indexed_settings.index_root).glob(".tmp-*"))
        assert leftovers == [], point


def test_searches_during_reindexing_never_fail_and_come_from_one_version(
    indexed_settings: Settings, catalog: Path
) -> None:
    errors: list[BaseException] = []
    answers: list[tuple[str, list[int]]] = []
    stop = threading.Event()
    settings = indexed_settings.changed(keep_versions=1)  # old versions vanish

    def searcher(server: Matchgraph) -> None:
        queries = ["vector database", "transcribe audio", "run an llm locally", "edit a photo"]
        i = 0
        while not stop.is_set():
            try:
                r = server.search(SearchRequest(queries[i % 4], record=False, limit=5))
                answers.append((r.index_version, [m.row_id for h in r.hits for m in h.matches]))
            except BaseException as exc:  # noqa: BLE001 - any error fails the test
                errors.append(exc)
            i += 1

    with Matchgraph(settings, record=False) as server:
        server.search(SearchRequest("warm up", record=False))
        threads = [threading.Thread(target=searcher, args=(server,)) for _ in range(2)]
        for t in threads:
            t.start()
        seen_versions: dict[str, set[int]] = {}
        with Matchgraph(settings, record=False) as job:
            for n in range(1, 4):
                edit_catalog(catalog, n)
                job.ingest([catalog])
                job.reindex()
                name = current_version(settings.index_root)
                assert name is not None
                folder = versions_dir(settings.index_root) / name
                seen_versions[name] = {int(i) for i in load_version(folder).ids}
                server.refresh()
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert len({v for v, _ in answers}) >= 2  # the server switched while answering
    original = {v for v, _ in answers} - set(seen_versions)
    for version, rows in answers:
        if version in seen_versions:
            assert set(rows) <= seen_versions[version]  # every hit from that one version
        else:
            assert version in original


def test_a_missing_file_in_the_current_version_falls_back(indexed_settings: Settings) -> None:
    with Matchgraph(indexed_settings, record=False) as mg:
        good = current_version(indexed_settings.index_root)
        mg.reindex(force=True)
    root = indexed_settings.index_root
    newest = current_version(root)
    (versions_dir(root) / str(newest) / "vectors.npy").unlink()
    with Matchgraph(indexed_settings, record=False) as mg:
        assert mg.search(SearchRequest("speech to text", record=False)).index_version == good
        assert mg.served.fallback_note and str(newest) in mg.served.fallback_note


def test_matchgraph_index_waits_for_a_running_job_and_neither_loses_its_version(
    indexed_settings: Settings,
) -> None:
    """Both write under the one job lock: the command waits instead of building beside the job
    (whose pruning would delete a half-written version)."""
    settings = indexed_settings.changed(keep_versions=5)
    holding, release = threading.Event(), threading.Event()
    reports = []

    def progress(done: int, total: int) -> None:  # the job stops here, lock held
        holding.set()
        release.wait(120)

    def job() -> None:
        with Matchgraph(settings, record=False) as mg:
            reports.append(mg.reindex(progress=progress, force=True))

    runner = threading.Thread(target=job)
    runner.start()
    try:
        assert holding.wait(60)
        env = {**os.environ, "MATCHGRAPH_DATA_DIR": str(settings.data_dir), "MATCHGRAPH_KEEP_VERSIONS": "5"}
        command = subprocess.Popen([sys.executable, "-m", "matchgraph.api.cli.main", "index"], cwd=PROJECT,
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert command.stderr is not None
        seen = []
        for line in command.stderr:  # it says it waits, and does
            seen.append(line)
            if "waiting for another index job" in line:
                break
        assert any("waiting for another index job" in line for line in seen), seen
        assert command.poll() is None
    finally:
        release.set()
        runner.join(120)
    out, err = command.communicate(timeout=300)
    assert command.returncode == 0, err
    root = settings.index_root
    (job_report,) = reports
    job_version = job_report.run.version
    command_version = current_version(root)
    assert job_version and command_version and job_version != command_version
    assert f"version {command_version}" in out
    for name in (job_version, command_version):  # both whole, neither pruned
        assert load_version(versions_dir(root) / name).manifest.count == 11
    with Matchgraph(settings, record=False) as mg:
        assert [r.outcome for r in mg.index_runs()][:2] == ["ok", "ok"]


def test_a_version_that_fails_verification_is_never_left_to_fall_back_to(
    indexed_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from matchgraph.index import builder
    from matchgraph.index.errors import IndexNotReady

    root = indexed_settings.index_root
    good = current_version(root)
    before = set(list_versions(root))

    def failing(*args: object, **kwargs: object) -> None:
        raise IndexNotReady("failed verification (as an artifact of 60 identical capabilities makes it)")

    monkeypatch.setattr(builder, "verify_version", failing)
    extra = tmp_path / "extra"
    shutil.copytree(FIXTURE_CATALOG, extra)
    (extra / "vecstore.yaml").write_text((extra / "vecstore.yaml").read_text().replace(
        "slug: vecstore", "slug: vecstore-two"))
    with Matchgraph(indexed_settings, record=False) as mg:
        mg.ingest([extra])
        with pytest.raises(MatchgraphError):
            mg.index()
    assert set(list_versions(root)) == before and current_version(root) == good


def test_a_reindex_recovers_from_a_damaged_current_manifest(indexed_settings: Settings) -> None:
    root = indexed_settings.index_root
    damaged = current_version(root)
    (versions_dir(root) / str(damaged) / "manifest.json").write_text("{broken")
    with Matchgraph(indexed_settings, record=False) as mg:
        report = mg.reindex()
        assert report.run.outcome == "ok"
        assert current_version(root) != damaged
        assert mg.search(SearchRequest("transcribe audio to text", limit=1)).hits
