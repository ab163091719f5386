from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from matchgraph.api.app import create_app
from matchgraph.api.cli.main import app as cli
from matchgraph.engine.catalog.models import Artifact
from matchgraph.engine.errors import MatchgraphError
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.jobs.backup import backup, restore
from matchgraph.engine.settings import Settings

from .conftest import FIXTURE_CATALOG

EXTRA = {"slug": "extra-tool", "name": "Extra Tool", "type": "cli", "capabilities": [
    {"key": "x", "name": "Extra", "description": "Transcribes audio files into text on the command line."}]}


def test_backup_and_restore_round_trip_while_the_server_answers(
    indexed_settings: Settings, tmp_path: Path
) -> None:
    settings = indexed_settings.changed(anon_rate_per_minute=0)
    errors: list[str] = []
    stop = threading.Event()
    with TestClient(create_app(settings)) as client:
        def load() -> None:
            while not stop.is_set():
                r = client.get("/v1/search", params={"q": "transcribe audio", "limit": 3})
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text}")

        workers = [threading.Thread(target=load) for _ in range(2)]
        for w in workers:
            w.start()
        try:
            saved = backup(settings, tmp_path / "bk")
            engine: Matchgraph = client.app.state.matchgraph  # type: ignore[attr-defined]
            engine.ingest_artifacts([Artifact.model_validate(EXTRA)])
            engine.reindex()
            engine.refresh()
            assert client.get("/v1/artifacts/extra-tool").status_code == 200
            restored = restore(settings, tmp_path / "bk")
            engine.refresh()
            assert client.get("/v1/artifacts/extra-tool").status_code == 404  # back to the backup
            # other threads may still be answering from the previous version while the
            # restored one loads; within a few polls every answer comes from the restored one
            served = None
            for _ in range(50):
                served = client.get("/v1/search", params={"q": "transcribe audio"}).json()["index_version"]
                if served == saved.index_version:
                    break
                time.sleep(0.1)
            assert served == saved.index_version, engine.served.fallback_note
        finally:
            stop.set()
            for w in workers:
                w.join()
    assert errors == []
    assert restored.index_version == saved.index_version and saved.artifacts == 5
    # the copy is a working state of its own
    other = Settings(data_dir=tmp_path / "elsewhere")
    restore(other, tmp_path / "bk")
    with Matchgraph(other, record=False) as mg:
        assert mg.health().counts.artifacts == 5
        assert mg.health().index_version == saved.index_version


def test_backup_refuses_a_non_empty_folder_and_restore_a_non_backup(
    indexed_settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(MatchgraphError, match="not empty"):
        backup(indexed_settings, tmp_path / "full")
    with pytest.raises(MatchgraphError, match="not a matchgraph backup"):
        restore(indexed_settings, tmp_path / "full")


def test_keys_backup_and_restore_from_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("MATCHGRAPH_DATA_DIR", str(tmp_path / "state"))
    runner.invoke(cli, ["ingest", str(FIXTURE_CATALOG)])
    runner.invoke(cli, ["index"])
    r = runner.invoke(cli, ["keys", "create", "ci-bot", "--scope", "read", "--scope", "write"])
    assert r.exit_code == 0 and r.stdout.startswith("mg_")
    key_id = r.stdout.split("_")[1]
    r = runner.invoke(cli, ["keys", "list"])
    assert key_id in r.stdout and "read,write" in r.stdout and "mg_" not in r.stdout
    assert runner.invoke(cli, ["keys", "create", "x", "--scope", "root"]).exit_code == 1
    assert "revoked" in runner.invoke(cli, ["keys", "revoke", key_id]).stdout
    assert runner.invoke(cli, ["keys", "revoke", "nope"]).exit_code == 1
    r = runner.invoke(cli, ["backup", str(tmp_path / "bk")])
    assert r.exit_code == 0 and "5 artifacts" in r.stdout
    r = runner.invoke(cli, ["restore", str(tmp_path / "bk")])
    assert r.exit_code == 0 and "restored" in r.stdout
