"""The one dependency direction and no cycles, as the README's layout section states them,
held by import-linter's contracts in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import PROJECT


def test_import_linter_contracts_are_kept(tmp_path: Path) -> None:
    script = ("import sys; from importlinter.cli import lint_imports; "
              f"sys.exit(lint_imports({str(PROJECT / 'pyproject.toml')!r}, no_cache=True, no_logo=True))")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "3 kept, 0 broken" in report


def test_the_contracts_name_every_layer() -> None:
    text = (PROJECT / "pyproject.toml").read_text()
    assert 'layers = ["matchgraph.api", "matchgraph.engine", "matchgraph.index"]' in text
    assert 'type = "acyclic_siblings"' in text
