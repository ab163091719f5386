"""The code style and type checks the project holds itself to, run with the tests so CI keeps them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_ruff_finds_nothing() -> None:
    done = run("ruff", "check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_no_type_errors(tmp_path: Path) -> None:
    """mypy reads files, not import hooks: it would see the editable install's ``matchgraph`` as
    missing (and type it Any). A folder of links lays the package out as the wheel does."""
    package = tmp_path / "matchgraph"
    package.mkdir()
    for folder in ("engine", "index", "api", "data"):
        (package / folder).symlink_to(ROOT / folder)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "-p", "matchgraph.engine", "-p", "matchgraph.index", "-p", "matchgraph.api"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success" in done.stdout
