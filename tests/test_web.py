"""The web pages over HTTP (TestClient): every page answers with a title and a description,
errors are pages with the right status, agents get Markdown, search engines get a sitemap,
and hostile third-party text is only ever shown escaped."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from matchgraph.api.app import create_app
from matchgraph.api.web.markdown import md
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.settings import Settings

from .conftest import FIXTURES

HOSTILE = FIXTURES / "hostile"
SEARCHES = ["transcribe audio to text", "speech recognition for calls", "run an LLM locally",
            "vector database for RAG", "transcribe hostile voicemail", "generate product photos"]
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def _prepare(indexed_state: Path, folder: Path) -> Settings:
    """A private copy of the indexed fixture state plus the hostile manifests, indexed."""
    state = folder / "state"
    shutil.copytree(indexed_state, state)
    settings = Settings(data_dir=state, writer_flush_seconds=0.05, trust_forwarded_for=True)
    with Matchgraph(settings, record=False) as mg:
        mg.ingest([HOSTILE])
        mg.index()
    return settings


@pytest.fixture(scope="module")
def client(indexed_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = _prepare(indexed_state, tmp_path_factory.mktemp("web"))
    with TestClient(create_app(settings)) as c:
        for i, q in enumerate(SEARCHES):
            c.get("/", params={"q": q}, headers={"X-Forwarded-For": f"10.1.0.{i}"})
        c.app.state.matchgraph.rank()  # type: ignore[attr-defined]
        yield c


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of <title>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title" and not self.title  # the page's, not an SVG's

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


def meta_description(tags: Tags) -> str:
    return next((a.get("content") or "") for t, a in tags.tags
                if t == "meta" and a.get("name") == "description")


PAGES = ["/", "/?q=transcribe+audio+to+text", "/artifacts/speechy", "/compare/speechy-vs-pixel-forge",
         "/graph", "/graph?q=speech+recognition", "/graph?artifact=speechy"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_answers_with_title_description_canonical_and_csp(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    tags = parse(r.text)
    assert tags.title.strip().endswith("· matchgraph") and len(tags.title) > 15
    assert len(meta_description(tags)) > 20
    assert any(t == "link" and a.get("rel") == "canonical" for t, a in tags.tags)
    assert sum(t == "h1" for t, _ in tags.tags) == 1
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"]
    # no inline script or style anywhere: every script is a file from /static, no style attributes
    assert all((a.get("src") or "").startswith("/static/") for t, a in tags.tags if t == "script")
    assert not any(t == "style" or "style" in a for t, a in tags.tags)


def test_search_results_show_highlighted_matches_score_and_times_matched(client: TestClient) -> None:
    r = client.get("/", params={"q": "transcribe audio to text"})
    assert "Results for “transcribe audio to text”" in r.text
    first = r.text.index('href="/artifacts/speechy"')
    assert first < r.text.index('href="/artifacts/pixel-forge"')
    assert "<mark>audio</mark>" in r.text
    assert re.search(r"Score</span> \d+/100", r.text) and re.search(r"Matched</span> \d+ time", r.text)
    filtered = client.get("/", params={"q": "transcribe audio to text", "type": "model"})
    assert 'href="/artifacts/speechy"' not in filtered.text and "clear filters" in filtered.text


def test_empty_search_offers_examples(client: TestClient) -> None:
    r = client.get("/")
    assert "Try one of these" in r.text and r.text.count('href="/?q=') >= 3


@pytest.mark.parametrize("params", [{"q": "a"}, {"q": "x" * 600}, {"q": "bad\x00query"},
                                    {"q": "fine words", "type": "spaceship"}])
def test_bad_search_is_a_422_page_with_the_reason(client: TestClient, params: dict[str, str]) -> None:
    r = client.get("/", params=params)
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "That search cannot be run" in r.text and 'role="alert"' in r.text


def test_web_searches_are_recorded_with_source_web(client: TestClient) -> None:
    engine: Matchgraph = client.app.state.matchgraph  # type: ignore[attr-defined]
    client.get("/", params={"q": "a very particular web query"})
    assert engine.recorder is not None and engine.recorder.flush()
    sources = {row[0] for row in engine.stores.database.db.execute(  # type: ignore[attr-defined]
        "SELECT source FROM searches WHERE query = ?", ["a very particular web query"])}
    assert sources == {"web"}


@pytest.mark.parametrize("path", ["/artifacts/nope", "/compare/speechy-vs-nope", "/compare/speechy",
                                  "/compare/speechy-vs-speechy", "/agent/artifacts/nope"])
def test_unknown_pages_are_404(client: TestClient, path: str) -> None:
    r = client.get(path, headers=HTML)
    assert r.status_code == 404
    if path.startswith("/agent"):
        assert r.headers["content-type"].startswith("text/markdown")
    else:
        assert "Error 404" in r.text and "<title>" in r.text


def test_unknown_address_is_an_html_page_for_browsers_and_json_for_the_api(client: TestClient) -> None:
    page = client.get("/no/such/page", headers=HTML)
    assert page.status_code == 404 and "Error 404" in page.text
    api = client.get("/v1/artifacts/nope", headers=HTML)
    assert api.status_code == 404 and api.json()["detail"]
    assert client.get("/v1/search", params={"q": "a"}).json()["detail"]


def test_compare_parses_slugs_that_contain_dashes_and_vs(client: TestClient) -> None:
    r = client.get("/compare/pg-reader-mcp-vs-llama-runner")
    assert r.status_code == 200
    assert "<h1>PG Reader MCP <span class=\"vs\">vs</span> Llama Runner</h1>" in r.text
    assert "Need something different?" in r.text and "Only in PG Reader MCP" in r.text
    labels = re.findall(r'<th scope="row">([^<]+)</th>', r.text)
    assert labels[:2] == ["Type", "Score"] and "Times Matched" in labels


def test_compare_shows_aligned_capabilities_with_their_cosine(client: TestClient) -> None:
    r = client.get("/compare/hostile-widget-vs-hostile-gadget")
    pairs = re.findall(r'<li class="aligned-pair">.*?class="cosine"[^>]*>([0-9.]+)<', r.text, re.S)
    assert pairs and all(0.5 <= float(p) <= 1.0 for p in pairs)
    assert "Only in &lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;Hostile Widget" in r.text


def test_compare_form_redirects_to_the_canonical_address(client: TestClient) -> None:
    r = client.get("/compare", params={"a": "speechy", "b": "pixel-forge"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/compare/speechy-vs-pixel-forge"
    words = client.get("/compare", params={"a": "speechy", "b": "vector database"},
                       follow_redirects=False)
    assert words.headers["location"] == "/compare/speechy-vs-vecstore"


def test_artifact_page_has_score_parts_capabilities_graph_and_timeline(client: TestClient) -> None:
    r = client.get("/artifacts/speechy")
    text = r.text
    assert text.count('class="bar-fill"') == 5 and re.search(r'class="bar-n"[^>]*>n \d+<', text)
    assert text.count('role="img"') >= 3  # score bars, neighbourhood, sparkline
    assert "Speech transcription" in text and "Matched" in text
    assert 'class="edge substitute"' in text or 'class="edge complement"' in text
    assert 'class="spark-line"' in text
    assert 'href="/compare/speechy-vs-' in text and "Need something different?" in text


def test_timeline_counts_distinct_units_per_day(client: TestClient) -> None:
    engine: Matchgraph = client.app.state.matchgraph  # type: ignore[attr-defined]
    timeline = engine.timeline("speechy")
    assert timeline and all(n > 0 for _, n in timeline)
    assert [d for d, _ in timeline] == sorted(d for d, _ in timeline)
    # a unit is (client, query, day), so the days add up to times matched
    assert sum(n for _, n in timeline) == engine.get_artifact("speechy").times_matched


def test_markdown_for_agents(client: TestClient) -> None:
    agent = client.get("/agent/artifacts/speechy")
    assert agent.headers["content-type"].startswith("text/markdown")
    assert agent.text.startswith("# Speechy\n") and "## Capabilities (2)" in agent.text
    negotiated = client.get("/artifacts/speechy", headers={"Accept": "text/markdown"})
    assert negotiated.headers["content-type"].startswith("text/markdown")
    assert negotiated.text == agent.text
    compare = client.get("/compare/speechy-vs-pixel-forge", headers={"Accept": "text/markdown"})
    assert compare.text.startswith("# Speechy vs Pixel Forge") and "## Verdict" in compare.text
    assert client.get("/agent/compare/speechy-vs-pixel-forge").text == compare.text


def test_markdown_neutralises_third_party_text() -> None:
    assert md("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert md("[x](javascript:alert(1))") == "\\[x\\](javascript:alert(1))"
    assert md("# heading\nnext") == "\\# heading next"
    assert md("a\x00b\u202ec|d") == "abc\\|d"
    assert md("1. not a list") == "1\\. not a list"


def test_sitemap_and_robots(client: TestClient) -> None:
    r = client.get("/sitemap.xml")
    assert r.headers["content-type"].startswith("application/xml")
    locs = re.findall(r"<loc>([^<]+)</loc>", r.text)
    for slug in ("speechy", "pixel-forge", "llama-runner", "vecstore", "pg-reader-mcp"):
        assert f"http://127.0.0.1:8000/artifacts/{slug}" in locs
    comparisons = [u.rsplit("/", 1)[1].split("-vs-") for u in locs if "/compare/" in u]
    assert comparisons and len(set(locs)) == len(locs)
    assert all(a < b for a, b in comparisons)  # each pair once, under its canonical address
    robots = client.get("/robots.txt").text
    assert "Sitemap: http://127.0.0.1:8000/sitemap.xml" in robots and "Disallow: /v1/" in robots


def test_static_files_and_api_keep_their_own_headers(client: TestClient) -> None:
    css = client.get("/static/site.css")
    assert css.status_code == 200 and css.headers["x-content-type-options"] == "nosniff"
    api = client.get("/v1/artifacts/speechy")
    assert api.headers["content-security-policy"].startswith("default-src 'none'")
    docs = client.get("/docs")
    assert "cdn.jsdelivr.net" in docs.headers["content-security-policy"]


HOSTILE_PAGES = ["/?q=transcribe+hostile+voicemail", "/artifacts/hostile-widget", "/artifacts/hostile-gadget",
                 "/compare/hostile-widget-vs-hostile-gadget", "/graph?artifact=hostile-widget",
                 "/graph?q=hostile+voicemail"]
ALLOWED_TAGS = {"html", "head", "meta", "title", "link", "script", "body", "a", "span", "header", "div",
                "nav", "ul", "li", "main", "section", "h1", "h2", "h3", "p", "form", "label", "input",
                "button", "fieldset", "legend", "select", "option", "ol", "mark", "footer", "aside", "dl",
                "dt", "dd", "article", "em", "svg", "desc", "g", "rect", "line", "text", "circle",
                "polyline", "polygon", "figure", "figcaption", "table", "thead", "tbody", "tr", "th", "td",
                "datalist", "details", "summary"}


@pytest.mark.parametrize("path", HOSTILE_PAGES)
def test_hostile_text_is_only_ever_escaped(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    html = r.text
    assert "Hostile" in html  # the hostile artifacts are really on the page
    tags = parse(html)
    assert {t for t, _ in tags.tags} <= ALLOWED_TAGS
    for tag, attrs in tags.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("href", "src", "action"):
            assert not (attrs.get(name) or "").lower().lstrip().startswith("javascript:"), (tag, attrs)
        if tag == "script":
            assert attrs == {"src": "/static/site.js", "defer": None}
    for raw in ("<script>alert", "<img src=x", "<svg onload", "<iframe", "<style>body", "<b onmouseover",
                "<body onload", "\u202e", "\x07"):
        assert raw not in html, raw
    assert "&lt;script&gt;alert(" in html
    if path == "/artifacts/hostile-widget":  # data is shown as written, never run as a template
        assert "{{ 7*7 }} {% if true %}template{% endif %}" in html


def test_hostile_markdown_is_inert(client: TestClient) -> None:
    text = client.get("/agent/artifacts/hostile-widget").text
    assert "<script" not in text and "<img" not in text and "<svg" not in text
    assert not re.search(r"(?<!\\)\]\(javascript:", text) and "\\](javascript:" in text
    assert "\u202e" not in text and "\x07" not in text
    assert text.startswith("# &lt;script&gt;alert('name')&lt;/script&gt;Hostile Widget\n")
    compare = client.get("/agent/compare/hostile-widget-vs-hostile-gadget").text
    assert "<script" not in compare and "<img" not in compare



def test_llms_txt_tells_agents_the_calls_and_tools(client: TestClient) -> None:
    r = client.get("/llms.txt")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "/v1/search" in r.text and "search_capabilities" in r.text and "matchgraph mcp" in r.text
