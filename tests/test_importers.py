"""Importers: each on a small fixture written for the tests, and on the real documents in
../shared/data/sources (read at run time only; skipped when ../shared is absent)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from matchgraph.api.cli.main import app
from matchgraph.engine.catalog.importers import (
    SOURCES,
    SourceFormatError,
    UnknownSource,
    convert_text,
    run_import,
)
from matchgraph.engine.catalog.importers.awesome import import_awesome, section_type
from matchgraph.engine.catalog.importers.github import import_github
from matchgraph.engine.catalog.importers.huggingface import import_huggingface
from matchgraph.engine.catalog.importers.openrouter import import_openrouter
from matchgraph.engine.catalog.manifests import RawRecord, validate_records
from matchgraph.engine.catalog.models import Artifact
from matchgraph.engine.errors import FetchFailed, InvalidManifest
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.settings import Settings
from matchgraph.engine.store import open_stores
from matchgraph.engine.store.contracts import CatalogStore

from .conftest import FIXTURES, SHARED_DATA, needs_shared

SOURCES_DIR = FIXTURES / "sources"
REAL = SHARED_DATA / "sources"
runner = CliRunner()


def fixture_text(name: str) -> str:
    return (SOURCES_DIR / name).read_text(encoding="utf-8")


def valid(manifests: list[Any]) -> dict[str, Artifact]:
    """Validate like run_import does; every fixture record must pass."""
    batch = validate_records(RawRecord("test", f"entry {i}", m) for i, m in enumerate(manifests, 1))
    assert batch.problems == []
    return {a.slug: a for a in batch.artifacts}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CatalogStore]:
    stores = open_stores("sqlite", tmp_path / "state" / "matchgraph.db")
    yield stores.catalog
    stores.close()


# -- OpenRouter --------------------------------------------------------------------------
def test_openrouter_fixture_prices_modalities_and_capabilities() -> None:
    arts = valid(import_openrouter(json.loads(fixture_text("openrouter_models.json"))))
    quill = arts["quillworks-quill-7b"]
    assert quill.type.value == "model" and quill.maintainer == "quillworks"
    assert quill.homepage == "https://openrouter.ai/quillworks/quill-7b"
    assert quill.repository == "https://huggingface.co/quillworks/Quill-7B-Instruct"
    assert quill.summary == "Quill 7B is a compact instruction-following model from Quillworks."
    assert quill.pricing.model.value == "paid" and not quill.pricing.free_tier
    assert quill.pricing.starting_price is not None
    assert quill.pricing.starting_price.amount == pytest.approx(2e-7)
    assert quill.pricing.starting_price.unit == "prompt token"
    assert str(quill.updated_at) == "2026-01-01"
    caps = {c.key: c for c in quill.capabilities}
    assert {"tool-calling", "structured-output", "image-understanding", "text-generation"} <= set(caps)
    assert "65,536 tokens" in caps["text-generation"].description
    assert caps["text-generation"].input_types == ["text", "image"]
    assert caps["text-generation"].output_types == ["text"]
    assert "vision" in quill.categories and "tool-calling" in quill.tags

    free = arts["quillworks-quill-7b-free"]
    assert free.pricing.model.value == "free" and free.pricing.free_tier
    assert free.pricing.starting_price is None
    assert "reasoning" in {c.key for c in free.capabilities}

    paint = arts["lumen-labs-lumen-paint-2"]  # prompt 0, but billed per output image token
    assert paint.pricing.model.value == "paid" and not paint.pricing.free_tier
    assert paint.pricing.starting_price is not None
    assert paint.pricing.starting_price.unit == "output image token"
    assert "image-generation" in {c.key for c in paint.capabilities}
    assert "image-generation" in paint.categories

    router = arts["router-smart-pick"]  # "~router/..." and price -1
    assert router.pricing.model.value == "usage-based" and router.maintainer == "router"
    assert "web-search" in {c.key for c in router.capabilities}
    assert "embeddings" in {c.key for c in arts["vectorly-embed-small"].capabilities}


def test_openrouter_entry_problems_reach_validation_with_a_field() -> None:
    doc = {"data": [{"name": "No id"}, {"id": "a/b", "name": "A: B", "pricing": {"prompt": "cheap"}}, "junk"]}
    batch = validate_records(RawRecord("or", f"entry {i}", m)
                             for i, m in enumerate(import_openrouter(doc), 1))
    fields = {(p.record.split(",")[0], p.field) for p in batch.problems}
    assert ("entry 1", "slug") in fields
    assert ("entry 2", "pricing.starting_price.amount") in fields
    assert any(p.record == "entry 3" and "expected a mapping" in p.reason for p in batch.problems)


@needs_shared("sources", "openrouter_models.json")
def test_openrouter_real_document() -> None:
    doc = json.loads((REAL / "openrouter_models.json").read_text(encoding="utf-8"))
    arts = valid(import_openrouter(doc))
    assert len(arts) == len(doc["data"]) == 549
    ministral = arts["mistralai-ministral-8b-2512"]
    price = ministral.pricing.starting_price
    assert price is not None and price.amount == pytest.approx(1.5e-7) and price.unit == "prompt token"
    assert price.currency == "USD" and ministral.pricing.model.value == "paid"
    assert "tool-calling" in {c.key for c in ministral.capabilities}
    assert "image" in next(c for c in ministral.capabilities if c.key == "text-generation").input_types
    free = [a for a in arts.values() if a.slug.endswith("-free")]
    assert free and all(a.pricing.model.value == "free" and a.pricing.free_tier for a in free)
    by_id = {m["id"]: m for m in doc["data"]}
    for model_id, model in by_id.items():
        art = arts[model_id.lstrip("~").replace("/", "-").replace(":", "-").lower()]
        if "tools" in (model.get("supported_parameters") or []):
            assert "tool-calling" in {c.key for c in art.capabilities}
        assert set(model["architecture"]["input_modalities"]) <= {
            t for c in art.capabilities for t in c.input_types}
    assert import_openrouter(doc) == import_openrouter(doc)  # deterministic


# -- awesome lists ----------------------------------------------------------------------
def test_awesome_mcp_fixture_bullet_shapes() -> None:
    arts = valid(import_awesome(fixture_text("awesome_mcp.md"), "mcp"))
    assert set(arts) == {"pgpeek-mcp", "lite-explorer-mcp", "columnar-mcp", "pgpeek-mcp-2",
                         "crawlsy-mcp", "seekr-mcp"}  # comment, anchors, prose and bare links skipped
    pg = arts["pgpeek-mcp"]
    assert pg.type.value == "mcp" and pg.categories == ["databases"] and "official" in pg.tags
    assert pg.repository == "https://github.com/example/pgpeek" and pg.homepage is None
    assert pg.pricing.model.value == "open-source" and pg.maintainer == "example"
    assert pg.capabilities[0].key == "main"
    assert pg.capabilities[0].description.startswith("Read-only PostgreSQL access")
    assert arts["lite-explorer-mcp"].summary == "Browse and query SQLite files from a chat."
    columnar = arts["columnar-mcp"]
    assert columnar.homepage == "https://columnar.example.com/mcp" and columnar.repository is None
    assert columnar.pricing.model.value == "freemium" and not columnar.pricing.free_tier
    assert arts["pgpeek-mcp-2"].maintainer == "other"
    assert arts["pgpeek-mcp-2"].summary == "A fork of Pgpeek that also allows writes."
    crawl = arts["crawlsy-mcp"]
    assert crawl.categories == ["search"] and "Caches pages for an hour" in crawl.capabilities[0].description
    assert arts["seekr-mcp"].summary == "Web search through a privacy-friendly engine."


def test_awesome_agents_fixture_heading_layout() -> None:
    arts = valid(import_awesome(fixture_text("awesome_agents.md"), "agent"))
    assert set(arts) == {"patchbot", "scribe-agent", "ledgerly"}
    patch = arts["patchbot"]
    assert patch.type.value == "agent" and patch.categories == ["build your own", "coding"]
    assert patch.summary == "Autonomous agent that fixes failing tests"
    assert {"test-repair", "pull-requests"} <= {c.key for c in patch.capabilities}
    scribe = arts["scribe-agent"]  # homepage link, repository from the Links section
    assert scribe.homepage == "https://scribe.example.org/"
    assert scribe.repository == "https://github.com/example/scribe-agent"
    ledger = arts["ledgerly"]
    assert "closed-source" in ledger.tags and ledger.pricing.model.value == "freemium"
    assert ledger.categories == ["finance", "productivity"]


@needs_shared("sources")
@pytest.mark.parametrize(("name", "kind", "low", "high"), [
    ("awesome-mcp-servers-appcypher.md", "mcp", 170, 200),
    ("awesome-mcp-servers-wong2.md", "mcp", 470, 560),
    ("awesome-ai-agents-e2b.md", "agent", 200, 230),
])
def test_awesome_real_lists(name: str, kind: str, low: int, high: int) -> None:
    text = (REAL / name).read_text(encoding="utf-8")
    arts = valid(import_awesome(text, kind))
    assert low <= len(arts) <= high
    assert all(a.type.value == kind and a.categories for a in arts.values())
    assert all(a.homepage or a.repository for a in arts.values())
    assert len({c for a in arts.values() for c in a.categories}) >= 5
    assert import_awesome(text, kind) == import_awesome(text, kind)


def test_awesome_mixed_list_types_each_section_and_skips_reading() -> None:
    arts = valid(import_awesome(fixture_text("awesome_mixed.md"), "sections"))
    types = {slug: a.type.value for slug, a in arts.items()}
    assert types == {"quill": "model", "chatterly": "product", "tiny-arena": "benchmark",
                     "penwise": "webapp", "tinystories-x": "dataset", "servo": "repo",
                     "mixbot": "repo", "sketchy": "webapp"}
    # reading, milestones, courses, learning resources and other lists are not artifacts
    assert arts["servo"].repository == "https://github.com/example/servo"
    assert arts["servo"].pricing.model.value == "open-source" and arts["servo"].categories == ["serving"]
    assert arts["quill"].categories == ["models"] and arts["quill"].homepage == "https://quill.example.org/"


@pytest.mark.parametrize(("sections", "url", "expected"), [
    (("Awesome X", "Text", "Models"), "https://x.example.org", "model"),
    (("Awesome X", "Image", "Model libraries"), "https://x.example.org", "platform"),
    (("Awesome X", "Coding", "Local LLM Deployment"), "https://github.com/a/b", "app"),
    (("Awesome X", "Main Content", "Deployment and Serving"), "https://github.com/a/b", "repo"),
    (("Awesome X", "Main Content", "Data Science Notebook"), "https://github.com/a/b", "app"),
    (("Awesome X", "Text", "ChatGPT extensions"), "https://x.example.org", "extension"),
    (("Awesome X", "Agents", "Autonomous agents"), "https://github.com/a/b", "agent"),
    (("Awesome X", "Video", "Avatars"), "https://x.example.org", "webapp"),
    (("Awesome X", "Recommended reading", "Milestones"), "https://x.example.org", None),
    (("Awesome X", "More lists", "Lists on ChatGPT"), "https://github.com/a/b", None),
    (("Other Awesome Lists",), "https://github.com/a/b", None),
])
def test_section_types(sections: tuple[str, ...], url: str, expected: str | None) -> None:
    got = section_type(sections, url)
    assert (got.value if got else None) == expected


@needs_shared("sources")
@pytest.mark.parametrize(("name", "low", "high", "kinds", "absent"), [
    ("awesome-generative-ai-steven2358.md", 260, 330,
     {"model", "product", "webapp", "app", "agent", "framework", "extension", "benchmark", "prompt"},
     {"Generative AI: A Creative New World", "Learn Prompting", "Awesome ChatGPT",
      "Open LLMs", "Hugging Face Diffusion Models Course"}),
    ("awesome-production-machine-learning-ethicalml.md", 500, 600, {"repo", "app"},
     {"Awesome AI Regulation", "Awesome Production GenAI", "Awesome RAG Production"}),
])
def test_awesome_mixed_real_lists(name: str, low: int, high: int, kinds: set[str], absent: set[str]) -> None:
    text = (REAL / name).read_text(encoding="utf-8")
    arts = valid(import_awesome(text, "sections"))
    assert low <= len(arts) <= high
    assert kinds <= {a.type.value for a in arts.values()}
    assert absent.isdisjoint(a.name for a in arts.values())
    assert all(a.categories and (a.homepage or a.repository) for a in arts.values())
    assert import_awesome(text, "sections") == import_awesome(text, "sections")


# -- Hugging Face, GitHub, unfragile ----------------------------------------------------
def test_huggingface_fixture() -> None:
    arts = valid(import_huggingface(json.loads(fixture_text("huggingface_models.json"))))
    asr = arts["hf-acme-ai-whisperlite-base"]
    assert asr.license == "apache-2.0" and asr.pricing.model.value == "open-source"
    assert asr.adoption.value_of("hf_downloads_monthly") == 125000
    assert asr.adoption.value_of("hf_likes") == 310
    assert all(s.as_of is None and s.source == "https://huggingface.co/acme-ai/whisperlite-base"
               for s in asr.adoption.signals)
    assert asr.categories == ["automatic-speech-recognition"] and str(asr.updated_at) == "2026-02-10"
    assert asr.capabilities[0].input_types == ["audio"] and asr.capabilities[0].output_types == ["text"]
    assert "region:us" not in asr.tags and "transformers" in asr.tags
    sent = arts["hf-acme-ai-minisent-v2"]
    assert sent.license == "mit" and "semantic search" in sent.capabilities[0].description
    odd = arts["hf-someone-odd-task-model"]  # unknown task: the generic template
    assert odd.pricing.model.value == "free" and "graph ml" in odd.capabilities[0].description
    single = import_huggingface(json.loads(fixture_text("huggingface_models.json"))[0])
    assert [m["slug"] for m in single] == ["hf-acme-ai-whisperlite-base"]


def test_github_fixture() -> None:
    arts = valid(import_github(json.loads(fixture_text("github_search.json"))))
    bridge = arts["example-org-sqlbridge-mcp"]
    assert bridge.type.value == "repo" and bridge.adoption.value_of("github_stars") == 4821
    assert bridge.license == "MIT" and bridge.pricing.model.value == "open-source"
    assert bridge.homepage == "https://sqlbridge.example.org"
    assert bridge.repository == "https://github.com/example-org/sqlbridge-mcp"
    assert str(bridge.updated_at) == "2026-03-02"
    assert "postgres" in bridge.categories and "typescript" in bridge.tags
    assert "read-only SQL" in bridge.capabilities[0].description
    notes = arts["solo-dev-notes-sync"]  # no description, NOASSERTION licence, empty homepage
    assert notes.license is None and notes.homepage is None and "archived" in notes.tags
    assert notes.capabilities[0].key == "repository" and "Go" in notes.capabilities[0].description
    one = json.loads(fixture_text("github_search.json"))["items"][0]
    assert [m["slug"] for m in import_github(one)] == ["example-org-sqlbridge-mcp"]


def test_unfragile_fixture_maps_fields(store: CatalogStore) -> None:
    report = run_import("unfragile", fixture_text("unfragile.yml"), store)
    assert report.new == ["tidewater-transcribe"]
    assert report.rejected_records == 1 and report.rejected[0].field == "type"
    art = store.artifact("tidewater-transcribe").artifact
    assert art.type.value == "api" and art.pricing.model.value == "usage-based"
    assert art.summary is not None and art.summary.startswith("Hosted speech-to-text API")
    batch = {c.key: c for c in art.capabilities}["batch-transcription"]
    assert batch.intents == ["transcribe a podcast episode", "get meeting minutes from a recording"]
    assert batch.unique == "Labels speakers without an enrolment step."
    assert batch.best_for == ["podcasts", "interviews"] and batch.requires == ["an API key"]
    assert batch.limitations == ["files up to four hours"]
    assert batch.input_types == ["audio"] and batch.output_types == ["text", "json"]


# -- run_import -------------------------------------------------------------------------
FIXTURE_FOR = {
    "openrouter": "openrouter_models.json", "awesome-mcp": "awesome_mcp.md",
    "awesome-agents": "awesome_agents.md", "awesome": "awesome_mixed.md",
    "huggingface": "huggingface_models.json",
    "github": "github_search.json",
}


@pytest.mark.parametrize("source", sorted(FIXTURE_FOR))
def test_importing_twice_changes_nothing(source: str, store: CatalogStore) -> None:
    text = fixture_text(FIXTURE_FOR[source])
    first = run_import(source, text, store)
    assert first.new and not first.rejected
    second = run_import(source, text, store)
    assert second.new == [] and second.updated == [] and sorted(second.unchanged) == sorted(first.new)


def test_a_malformed_entry_is_rejected_and_the_rest_imported(store: CatalogStore) -> None:
    doc = json.loads(fixture_text("openrouter_models.json"))
    doc["data"][1]["pricing"]["prompt"] = "free!"
    report = run_import("openrouter", json.dumps(doc), store, origin="models.json")
    assert len(report.new) == 4 and report.rejected_records == 1
    problem = report.rejected[0]
    assert problem.file == "models.json" and "entry 2" in problem.record
    assert problem.field == "pricing.starting_price.amount" and "number" in problem.reason
    assert "rejected" in report.summary() and "4 new" in report.summary()


def test_strict_writes_nothing_when_an_entry_is_bad(store: CatalogStore) -> None:
    doc = json.loads(fixture_text("openrouter_models.json"))
    del doc["data"][0]["id"]
    with pytest.raises(InvalidManifest) as caught:
        run_import("openrouter", json.dumps(doc), store, skip_invalid=False)
    assert "slug" in str(caught.value)
    assert store.sizes()[0] == 0


def test_unknown_source_lists_the_valid_ones(store: CatalogStore) -> None:
    with pytest.raises(UnknownSource) as caught:
        run_import("npm", "{}", store)
    assert all(name in str(caught.value) for name in SOURCES)


@pytest.mark.parametrize(("source", "text", "words"), [
    ("openrouter", "{not json", "not valid JSON"),
    ("openrouter", '{"models": 3}', "OpenRouter"),
    ("github", '"just a string"', "GitHub"),
    ("unfragile", "a: [unclosed", "not valid YAML"),
])
def test_documents_of_the_wrong_kind_fail_clearly(source: str, text: str, words: str) -> None:
    with pytest.raises(SourceFormatError, match=words):
        convert_text(source, text)


# -- CLI --------------------------------------------------------------------------------
@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MATCHGRAPH_DATA_DIR", str(tmp_path / "state"))
    return tmp_path


def test_cli_import_from_a_file_twice(env: Path) -> None:
    path = str(SOURCES_DIR / "awesome_mcp.md")
    r = runner.invoke(app, ["import", "awesome-mcp", "--file", path])
    assert r.exit_code == 0, r.output
    assert "6 new" in r.output and "0 rejected" in r.output
    r = runner.invoke(app, ["import", "awesome-mcp", "--file", path])
    assert r.exit_code == 0 and "6 unchanged" in r.output


def test_cli_reports_rejects_and_strict_exits_2(env: Path) -> None:
    path = str(SOURCES_DIR / "unfragile.yml")
    r = runner.invoke(app, ["import", "unfragile", "--file", path, "--strict"])
    assert r.exit_code == 2 and "nothing was written" in r.output and "spaceship" not in r.stdout
    assert "type" in r.output
    r = runner.invoke(app, ["import", "unfragile", "--file", path])
    assert r.exit_code == 0, r.output
    assert "1 new" in r.output and "1 rejected" in r.output and "rejected: " in r.output


def test_cli_errors(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r = runner.invoke(app, ["import", "nonsense", "--file", str(SOURCES_DIR / "awesome_mcp.md")])
    assert r.exit_code == 1 and "openrouter" in r.output and "unfragile" in r.output
    r = runner.invoke(app, ["import", "github"])
    assert r.exit_code == 2 and "exactly one of --file or --url" in r.output
    r = runner.invoke(app, ["import", "github", "--file", str(env / "missing.json")])
    assert r.exit_code == 1 and "cannot be read" in r.output
    r = runner.invoke(app, ["import", "github", "--file", str(SOURCES_DIR / "awesome_mcp.md")])
    assert r.exit_code == 1 and "not valid JSON" in r.output

    def refuse(url: str) -> str:
        raise FetchFailed(f"{url}: the server answered HTTP 404 Not Found")

    monkeypatch.setattr("matchgraph.engine.catalog.fetch.fetch_text", refuse)
    r = runner.invoke(app, ["import", "github", "--url", "https://api.example.org/repos"])
    assert r.exit_code == 1 and "404" in r.output


def test_cli_import_from_a_url(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("matchgraph.engine.catalog.fetch.fetch_text",
                        lambda url: fixture_text("github_search.json"))
    r = runner.invoke(app, ["import", "github", "--url", "https://api.example.org/search"])
    assert r.exit_code == 0, r.output
    assert "2 new" in r.output


# -- import --all-shared: the large catalog ---------------------------------------------
SHARED_NAMES = {  # fixture -> the name it takes in a shared folder (the name picks the source)
    "openrouter_models.json": "openrouter_models.json", "awesome_mcp.md": "awesome-mcp-servers-x.md",
    "awesome_agents.md": "awesome-ai-agents-x.md", "awesome_mixed.md": "awesome-made-up-ai.md",
}


@pytest.fixture
def shared(env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A shared folder of the fixture documents, and a hand-written catalog that already
    describes one of their entries (Servo, under another slug)."""
    folder = env / "sources"
    folder.mkdir()
    for fixture, name in SHARED_NAMES.items():
        (folder / name).write_text(fixture_text(fixture), encoding="utf-8")
    (folder / "notes.txt").write_text("not a catalog", encoding="utf-8")
    catalog = env / "catalog"
    catalog.mkdir()
    hand = (FIXTURES / "catalog" / "vecstore.yaml").read_text(encoding="utf-8")
    (catalog / "servo.yaml").write_text(
        hand.replace("slug: vecstore", "slug: servo-server").replace("name: VecStore", "name: Vecstore\n"
                     "aliases: [servo]"), encoding="utf-8")
    monkeypatch.setenv("MATCHGRAPH_CATALOG_DIR", str(catalog))
    return folder


def test_source_for_shared_file_names() -> None:
    from matchgraph.engine.catalog.importers import source_for

    assert [source_for(Path(n)) for n in (
        "openrouter_models.json", "awesome-mcp-servers-wong2.md", "awesome-ai-agents-e2b.md",
        "awesome-generative-ai-steven2358.md", "awesome-production-machine-learning-ethicalml.md",
        "README.md")] == ["openrouter", "awesome-mcp", "awesome-agents", "awesome", "awesome", None]


def test_cli_import_all_shared_on_top_of_the_catalog(shared: Path) -> None:
    r = runner.invoke(app, ["import", "--all-shared", str(shared)])
    assert r.exit_code == 0, r.output
    assert "bundled catalog: 1 new" in r.output
    assert "4 documents: 21 new, 0 updated, 0 unchanged, 0 rejected" in r.output
    assert "left out 1 the catalog already describes" in r.output  # Servo, by its alias
    assert "ignored: notes.txt" in r.output and "catalog now: 22 artifacts" in r.output
    r = runner.invoke(app, ["import", "--all-shared", str(shared)])  # a second run changes nothing
    assert r.exit_code == 0 and "0 new, 0 updated, 21 unchanged" in r.output
    with Matchgraph(Settings()) as mg:
        assert mg.get_artifact("servo-server").artifact.type.value == "framework"
        assert mg.get_artifact("tinystories-x").artifact.type.value == "dataset"
        assert mg.get_artifact("pgpeek-mcp").artifact.type.value == "mcp"


def test_cli_import_all_shared_errors(shared: Path) -> None:
    r = runner.invoke(app, ["import", "awesome", "--all-shared", str(shared)])
    assert r.exit_code == 2 and "takes no SOURCE" in r.output
    r = runner.invoke(app, ["import"])
    assert r.exit_code == 2 and "--all-shared FOLDER" in r.output
    r = runner.invoke(app, ["import", "--all-shared", str(shared / "missing")])
    assert r.exit_code == 1 and "not a folder" in r.output and "Traceback" not in r.output
    doc = json.loads(fixture_text("openrouter_models.json"))
    doc["data"][1]["pricing"]["prompt"] = "free!"
    (shared / "openrouter_broken.json").write_text(json.dumps(doc), encoding="utf-8")
    r = runner.invoke(app, ["import", "--all-shared", str(shared), "--strict"])
    assert r.exit_code == 2 and "nothing was imported" in r.output
    with Matchgraph(Settings()) as mg:
        assert mg.health().counts.artifacts == 1  # only the hand-written catalog


@needs_shared("sources")
def test_all_six_shared_sources_import_with_zero_rejects(tmp_path: Path) -> None:
    from matchgraph.engine.catalog.importers import run_import_all
    from matchgraph.engine.catalog.manifests import load_manifests
    from matchgraph.engine.settings import Settings as S

    stores = open_stores("sqlite", tmp_path / "m.db")
    try:
        described = load_manifests([S().catalog_dir]).artifacts
        result = run_import_all(REAL, stores.catalog, described, skip_invalid=False)
    finally:
        stores.close()
    assert [r.source for r in result.reports] == [
        "awesome-agents", "awesome", "awesome-mcp", "awesome-mcp", "awesome", "openrouter"]
    assert result.rejected_records == 0 and result.ignored == []
    assert sum(len(r.new) for r in result.reports) > 1800
    assert len(result.described) > 100  # the bundled catalog keeps its own descriptions
