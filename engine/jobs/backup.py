"""Backup and restore: the SQLite file through SQLite's online backup API (consistent while
the server keeps writing) and the current index version as plain files.

    DEST/matchgraph.db           a consistent copy of the database
    DEST/index/versions/<v>/...   the index version that was current
    DEST/backup.json             when, which version, counts

Restore copies the database back through the same backup API (readers see the old or the
new database, never a mix) and publishes the saved index version with the usual atomic
switch, so a running server picks it up without a restart.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from matchgraph.engine.errors import MatchgraphError
from matchgraph.engine.settings import Settings
from matchgraph.index.lock import JobLock
from matchgraph.index.versions import current_version, load_version, switch_current, versions_dir

MANIFEST = "backup.json"
DB_FILE = "matchgraph.db"


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    created_at: str
    index_version: str | None
    artifacts: int
    searches: int


def _copy_db(source: Path, target: Path) -> None:
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target, timeout=30)
    try:
        with dst:
            src.backup(dst, pages=1024)
    finally:
        src.close()
        dst.close()


def _count(db: Path, table: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def _sqlite_only(settings: Settings, what: str) -> None:
    if settings.store_backend == "postgresql":
        raise MatchgraphError(f"`matchgraph {what}` works on the SQLite file; on PostgreSQL use its own "
                              "tools (pg_dump / pg_restore, or point-in-time recovery)")


def backup(settings: Settings, dest: Path) -> BackupInfo:
    _sqlite_only(settings, "backup")
    if dest.exists() and any(dest.iterdir()):
        raise MatchgraphError(f"{dest} is not empty; back up into a new folder")
    if not settings.db_path.exists():
        raise MatchgraphError(f"there is no database at {settings.db_path} to back up")
    dest.mkdir(parents=True, exist_ok=True)
    _copy_db(settings.db_path, dest / DB_FILE)
    version = current_version(settings.index_root)
    if version is not None:
        shutil.copytree(versions_dir(settings.index_root) / version,
                        versions_dir(dest / "index") / version)
    info = BackupInfo(dest, datetime.now(UTC).isoformat(timespec="seconds"), version,
                      _count(dest / DB_FILE, "artifacts"), _count(dest / DB_FILE, "searches"))
    (dest / MANIFEST).write_text(json.dumps({
        "created_at": info.created_at, "index_version": version, "artifacts": info.artifacts,
        "searches": info.searches,
    }, indent=2), encoding="utf-8")
    return info


def restore(settings: Settings, src: Path) -> BackupInfo:
    _sqlite_only(settings, "restore")
    try:
        meta = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MatchgraphError(f"{src} is not a matchgraph backup (no readable {MANIFEST}): {exc}") from exc
    version = meta.get("index_version")
    if version is not None:  # check the saved index before touching anything
        saved = versions_dir(src / "index") / version
        load_version(saved)
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    with JobLock(settings.index_root):  # no index job may run (or prune) meanwhile
        _copy_db(src / DB_FILE, settings.db_path)
        if version is not None:
            target = versions_dir(settings.index_root) / version
            if not target.exists():
                tmp = versions_dir(settings.index_root) / f".tmp-restore-{version}"
                shutil.rmtree(tmp, ignore_errors=True)
                shutil.copytree(versions_dir(src / "index") / version, tmp)
                tmp.rename(target)
            switch_current(settings.index_root, version)
    return BackupInfo(src, meta.get("created_at", ""), version, int(meta.get("artifacts", 0)),
                      int(meta.get("searches", 0)))
