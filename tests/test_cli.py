from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matchgraph.api.cli.main import app

from .conftest import FIXTURE_CATALOG, FIXTURES

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MATCHGRAPH_DATA_DIR", str(tmp_path / "state"))
    return tmp_path


def test_ingest_index_search_export(env: Path) -> None:
    r = runner.invoke(app, ["ingest", str(FIXTURE_CATALOG)])
    assert r.exit_code == 0, r.output
    assert "5 new" in r.output
    r = runner.invoke(app, ["index"])
    assert r.exit_code == 0, r.output
    assert "11 capabilities" in r.output
    r = runner.invoke(app, ["search", "transcribe audio to text", "--json", "--no-record"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["items"][0]["artifact"]["slug"] == "speechy"
    r = runner.invoke(app, ["search", "run a model on my laptop", "--limit", "2"])
    assert r.exit_code == 0 and "llama-runner" in r.output
    out = env / "export.jsonl"
    r = runner.invoke(app, ["export", "--out", str(out)])
    assert r.exit_code == 0 and len(out.read_text().splitlines()) == 5


def test_ingest_rejects_a_bad_batch_with_where_and_why(env: Path) -> None:
    r = runner.invoke(app, ["ingest", str(FIXTURE_CATALOG), str(FIXTURES / "bad" / "wrong-type.yaml")])
    assert r.exit_code == 2
    assert "wrong-type.yaml" in r.output and "type" in r.output and "nothing was written" in r.output
    r = runner.invoke(app, ["ingest", str(FIXTURES / "bad"), "--skip-invalid"])
    assert r.exit_code == 0 and "1 new" in r.output and "rejected" in r.output


def test_search_before_indexing_says_what_to_do(env: Path) -> None:
    r = runner.invoke(app, ["search", "anything at all"])
    assert r.exit_code == 1
    assert "matchgraph index" in r.output


def test_bad_query_is_an_error_not_a_traceback(env: Path) -> None:
    runner.invoke(app, ["ingest", str(FIXTURE_CATALOG)])
    runner.invoke(app, ["index"])
    r = runner.invoke(app, ["search", "x"])
    assert r.exit_code == 1 and "at least 2 characters" in r.output


def test_rank_compare_and_graph_export(env: Path) -> None:
    import networkx as nx

    runner.invoke(app, ["ingest", str(FIXTURE_CATALOG)])
    runner.invoke(app, ["index"])
    for q in ["transcribe audio to text", "run an llm locally", "speech to text api"]:
        assert runner.invoke(app, ["search", q, "--limit", "3"]).exit_code == 0
    r = runner.invoke(app, ["rank", "--as-of", "2026-11-01"])
    assert r.exit_code == 0 and "artifacts scored" in r.output, r.output
    r = runner.invoke(app, ["rank", "--explain", "speechy"])
    assert r.exit_code == 0 and "/100" in r.output and "match_graph" in r.output
    r = runner.invoke(app, ["compare", "speechy", "llama-runner"])
    assert r.exit_code == 0, r.output
    assert "Verdict" in r.output and "Need something different?" in r.output
    out = env / "graph.graphml"
    r = runner.invoke(app, ["graph", "export", "--out", str(out)])
    assert r.exit_code == 0
    graph = nx.read_graphml(out)
    assert "speechy" in graph.nodes and graph.number_of_edges() >= 1
    r = runner.invoke(app, ["resolve", "transcribe my meeting recordings"])
    assert r.exit_code == 0 and "speechy" in r.output


def test_reindex_and_its_status(env: Path) -> None:
    runner.invoke(app, ["ingest", str(FIXTURE_CATALOG)])
    r = runner.invoke(app, ["reindex"])
    assert r.exit_code == 0 and ": ok, version" in r.output, r.output
    r = runner.invoke(app, ["reindex"])
    assert r.exit_code == 0 and ": unchanged" in r.output
    r = runner.invoke(app, ["reindex", "--status"])
    assert r.exit_code == 0 and "unchanged" in r.output and "ok" in r.output


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("2h", 7200), ("30", 30)])
def test_durations(text: str, seconds: float) -> None:
    from matchgraph.api.cli.common import parse_duration

    assert parse_duration(text) == seconds


def test_bad_duration_is_refused() -> None:
    r = runner.invoke(app, ["serve", "--reindex-every", "soon"])
    assert r.exit_code != 0 and "duration" in r.output


def test_validate_passes_the_bundled_catalog_and_locates_problems(env: Path) -> None:
    from matchgraph.engine.settings import Settings

    r = runner.invoke(app, ["validate", str(Settings().catalog_dir)])
    assert r.exit_code == 0, r.output[-2000:]
    assert "0 problems" in r.output
    broken = env / "broken.yaml"
    broken.write_text("slug: broken\nname: Broken\ntype: spaceship\npricing:\n  model: paid\n"
                      "  starting_price:\n    amount: -3\n    unit: month\ncapabilities: []\n")
    r = runner.invoke(app, ["validate", str(broken), "--json"])
    assert r.exit_code == 1
    problems = json.loads(r.stdout)["problems"]
    where = {p["field"]: p["where"] for p in problems}
    assert where["type"].endswith("line 3, column 7")
    assert where["pricing.starting_price.amount"].endswith("line 7, column 13")
    assert runner.invoke(app, ["validate", str(env / "missing.yaml")]).exit_code == 2


def test_validate_reads_unfragile_yml_and_names_the_document(env: Path) -> None:
    # the importer's fixture: one good document, and a second whose type is not one of ours
    r = runner.invoke(app, ["validate", str(FIXTURES / "sources" / "unfragile.yml"), "--json"])
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    assert report["valid"] == 1
    found = [(p["field"], "document 2 (line 31)" in p["where"]) for p in report["problems"]]
    assert found == [("type", True)]
    good = env / "unfragile.yml"
    good.write_text("artifact:\n  name: Fine\n  type: model\ncapabilities:\n  - name: Do it\n"
                    "    description: It does the one thing this test needs it to do, described plainly.\n")
    r = runner.invoke(app, ["validate", str(good)])
    assert r.exit_code == 0, r.output


def test_an_openrouter_import_needs_the_models_document(env: Path) -> None:
    listed = env / "list.json"
    listed.write_text('[{"id": "x/y"}]')
    r = runner.invoke(app, ["import", "openrouter", "--file", str(listed)])
    assert r.exit_code != 0 and "data" in r.output
