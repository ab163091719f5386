"""What users install: one import package, `matchgraph`, with its data inside, that serves the
bundled catalog from any working directory without an editable checkout."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import httpx
import pytest

from . import servers
from .conftest import PROJECT

pytestmark = pytest.mark.slow


def listed_packages() -> set[str]:
    config = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return set(config["packages"])


def test_every_package_folder_is_listed_for_the_wheel() -> None:
    found = {"matchgraph." + ".".join(init.parent.relative_to(PROJECT).parts)
             for top in ("engine", "index", "api") for init in (PROJECT / top).rglob("__init__.py")}
    assert found | {"matchgraph.data"} == listed_packages()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", str(PROJECT),
                    "-w", str(out)], check=True, capture_output=True, timeout=600)
    (built,) = out.glob("matchgraph-*.whl")
    return built


def test_the_wheel_holds_one_top_level_package_with_its_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert tops == {"matchgraph"}
    data = PROJECT / "data"
    catalog = {"matchgraph/data/" + p.relative_to(data).as_posix()
               for p in (data / "catalog").rglob("*.yaml")}
    assert catalog <= set(names)
    for shipped in ("matchgraph/api/web/templates/compare.html", "matchgraph/api/web/static/site.css",
                    "matchgraph/index/embedding/calibration.txt", "matchgraph/engine/facade.py"):
        assert shipped in names
    assert not any(n.startswith(("matchgraph/tests", "tests/", "benchmarks/")) for n in names)


def test_serve_from_a_non_editable_install_in_another_directory(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, capture_output=True, timeout=600)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PYTHONPATH": str(target), "MATCHGRAPH_DATA_DIR": str(tmp_path / "state")}
    probe = "import matchgraph.engine.facade as f; print(f.__file__)"
    where = subprocess.run([sys.executable, "-c", probe], cwd=elsewhere, env={**env, "PATH": "/usr/bin:/bin"},
                           capture_output=True, text=True)
    assert where.stdout.strip().startswith(str(target)), where.stdout + where.stderr  # not the checkout
    with servers.running_server(tmp_path / "state", env, cwd=elsewhere) as server:
        health = httpx.get(f"{server.base}/healthz").json()
        expected = len(list((PROJECT / "data" / "catalog").rglob("*.yaml")))
        assert health["status"] == "ok" and health["artifacts"] == expected
        found = httpx.get(f"{server.base}/v1/search", params={"q": "transcribe a podcast to text"}).json()
        assert found["items"]
