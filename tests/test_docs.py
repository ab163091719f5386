"""The README is part of the product: its settings table and commands must stay true."""

from __future__ import annotations

import re

from matchgraph.api.cli.main import app
from matchgraph.engine.settings import all_setting_names

from .conftest import PROJECT

README = (PROJECT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_readme() -> None:
    documented = set(re.findall(r"`(MATCHGRAPH_[A-Z0-9_]+)`", README))
    declared = {f"MATCHGRAPH_{name.upper()}" for name in all_setting_names()}
    assert declared - documented == set(), "settings missing from the README"
    assert documented - declared == set(), "README documents settings that do not exist"


def test_every_setting_has_help_text() -> None:
    for name, description in all_setting_names().items():
        assert description, name


def test_readme_opens_with_the_serve_and_test_commands() -> None:
    block = README.split("```bash", 1)[1].split("```", 1)[0]
    assert "pip install -e ." in block and "matchgraph serve" in block
    assert "pip install -e '.[test]'" in block and "pytest" in block


def test_ci_runs_the_readme_test_command() -> None:
    ci = (PROJECT / ".ci" / "run").read_text()
    assert "pip install --quiet -e '.[test]'" in ci and "python -m pytest" in ci


def test_readme_cli_commands_exist() -> None:
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    for command in re.findall(r"matchgraph ([a-z][a-z-]+)", README):
        if command in {"serve", "search", "index", "ingest", "export", "eval", "apibench-to-beir"}:
            assert command in names, command
