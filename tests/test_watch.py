from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.jobs.watch import snapshot, watch
from matchgraph.engine.settings import Settings

from .conftest import FIXTURE_CATALOG


def test_snapshot_sees_edits_and_new_files(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE_CATALOG, tmp_path / "c")
    before = snapshot([tmp_path / "c"])
    assert len(before) == 4
    (tmp_path / "c" / "new.yaml").write_text("slug: x\n")
    assert len(snapshot([tmp_path / "c"])) == 5


def test_watch_reingests_and_reindexes_on_change(indexed_settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "c"
    shutil.copytree(FIXTURE_CATALOG, folder)
    stop = threading.Event()
    versions: list[str | None] = []
    with Matchgraph(indexed_settings, record=False) as mg:

        def on_change() -> None:
            mg.ingest([folder], skip_invalid=True)
            versions.append(mg.reindex().run.version)

        thread = threading.Thread(target=watch, args=([folder], on_change, 0.05, stop))
        thread.start()
        deadline = time.monotonic() + 30
        while len(versions) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        text = (folder / "vecstore.yaml").read_text().replace("slug: vecstore", "slug: vecstore-copy")
        (folder / "vecstore-copy.yaml").write_text(text)
        while len(versions) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        thread.join()
        assert len(versions) == 2 and versions[0] != versions[1]
        assert mg.get_artifact("vecstore-copy").artifact.name == "VecStore"
