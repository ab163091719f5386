"""The web pages in a real browser: Debian's chromium driven by Playwright.

The app runs under uvicorn in a background thread on a private copy of the indexed fixture
state (plus the hostile manifests), after a few recorded searches and a ranking run, so
scores and match-graph edges exist. Screenshots at phone and desktop widths land in
artifacts/screenshots/.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from matchgraph.api.app import create_app
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.search.searcher import SearchRequest

from .conftest import PROJECT
from .test_web import SEARCHES, _prepare

CHROMIUM = shutil.which("chromium") or next(
    (p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None
)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = sync_api.expect

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
SHOTS = PROJECT / "artifacts" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(indexed_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    settings = _prepare(indexed_state, tmp_path_factory.mktemp("browser"))
    engine = Matchgraph(settings)
    for i, q in enumerate(SEARCHES):
        engine.search(SearchRequest(q, source="web", client_id=f"browser-{i}"))
    engine.rank()
    app = create_app(settings, mg=engine, prepare=False)
    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(15)
        engine.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


class Watch:
    """Everything a page should never do: open a dialog, log an error (CSP violations
    included), or throw."""

    def __init__(self, page: Any):
        self.problems: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", lambda m: self.problems.append(f"console: {m.text}") if m.type == "error"
                else None)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))

    def _dialog(self, dialog: Any) -> None:
        self.problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[tuple[Any, Watch]]:
    context = browser.new_context(viewport=DESKTOP, base_url=server)
    tab = context.new_page()
    watch = Watch(tab)
    yield tab, watch
    context.close()


def shoot(page: Any, name: str) -> None:
    """Full-page screenshots at phone and desktop widths; at phone width nothing may overflow."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
        if label == "phone":  # the first screen too, as a person holding the phone sees it
            page.screenshot(path=str(SHOTS / f"{name}-{label}-screen.png"))
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} overflows a phone screen by {overflow}px"
    page.set_viewport_size(DESKTOP)


def test_journey_search_result_compare_alternative_search_again(page: tuple[Any, Watch]) -> None:
    tab, watch = page
    h1 = tab.get_by_role("heading", level=1)

    tab.goto("/")
    expect(h1).to_have_text("Find the AI tool that does what you need")
    expect(tab.locator(".examples .chips a")).to_have_count(5)
    shoot(tab, "search-empty")

    tab.get_by_label("What do you need?").fill("transcribe audio to text")
    tab.keyboard.press("Enter")
    expect(h1).to_have_text("Results for “transcribe audio to text”")
    results = tab.locator("ol.results > li")
    expect(results.first.locator("h2")).to_have_text("Speechy")
    assert results.count() >= 3
    expect(tab.locator(".result-count")).to_contain_text(f"Showing 1–{results.count()} of")
    expect(results.first.locator("mark").first).to_have_text("audio")
    expect(results.first.locator(".result-stats")).to_contain_text("/100")
    shoot(tab, "search-results")

    results.first.get_by_role("link", name="Speechy").click()
    expect(h1).to_have_text("Speechy")
    expect(tab.locator(".capability")).to_have_count(2)
    expect(tab.locator("svg.score-chart .bar-fill")).to_have_count(5)
    expect(tab.locator("svg.graph-chart")).to_be_visible()
    expect(tab.locator("svg.spark-chart")).to_be_visible()
    expect(tab.locator(".fact-list")).to_contain_text("$0.006 per minute")
    shoot(tab, "artifact")

    tab.get_by_label("Another artifact (name or words)").fill("pixel-forge")
    tab.get_by_role("button", name="Compare").click()
    expect(h1).to_have_text("Speechy vs Pixel Forge")
    expect(tab.locator(".compare-table tbody tr")).to_have_count(11)
    expect(tab.locator(".verdict p")).to_contain_text("/100")
    expect(tab.get_by_role("heading", name="Only in Speechy")).to_be_visible()
    expect(tab.locator(".verdict p")).to_contain_text("do different jobs")
    shoot(tab, "compare")

    # nothing in the fixture catalog shares a compared capability, so the comparison offers no
    # alternative; the artifact page does
    tab.go_back()
    expect(h1).to_have_text("Speechy")
    different = tab.locator(".different")
    expect(different.get_by_role("heading", name="Need something different?")).to_be_visible()
    suggestion = different.locator(".alt-name").first
    name = suggestion.inner_text()
    suggestion.click()
    expect(h1).to_have_text(name)
    expect(tab.locator(".capability").first).to_be_visible()

    box = tab.locator(".different")
    box.get_by_label("Search for something else").fill("vector database for RAG")
    box.get_by_role("button", name="Search").click()
    expect(h1).to_have_text("Results for “vector database for RAG”")
    expect(tab.locator("ol.results > li").first.locator("h2")).to_have_text("VecStore")
    assert watch.problems == []


def test_graph_and_error_pages(page: tuple[Any, Watch]) -> None:
    tab, watch = page
    h1 = tab.get_by_role("heading", level=1)
    tab.goto("/graph?q=speech+recognition")
    expect(h1).to_have_text("The match graph for “speech recognition”")
    assert tab.locator("svg.graph-chart circle").count() >= 2
    assert tab.locator(".edge-table tbody tr").count() >= 1
    shoot(tab, "graph-query")
    tab.set_viewport_size(PHONE)  # on a phone every node is on screen, none behind a sideways scroll
    outside = tab.evaluate("""() => [...document.querySelectorAll('svg.graph-chart circle.node')]
        .map(c => c.getBoundingClientRect()).filter(r => r.left < 0 || r.right > window.innerWidth).length""")
    assert outside == 0
    tab.set_viewport_size(DESKTOP)
    tab.goto("/graph?artifact=speechy")
    expect(h1).to_have_text("The match graph around Speechy")
    shoot(tab, "graph-artifact")

    response = tab.goto("/artifacts/no-such-thing")
    assert response is not None and response.status == 404
    expect(h1).to_have_text("Page not found")
    shoot(tab, "not-found")
    response = tab.goto("/?q=x")
    assert response is not None and response.status == 422
    expect(tab.get_by_role("alert")).to_contain_text("at least 2 characters")
    shoot(tab, "search-error")
    # the browser logs the two error statuses of the documents themselves, and nothing else
    assert [p for p in watch.problems if "Failed to load resource" not in p] == []
    assert len(watch.problems) == 2


def test_keyboard_skip_link_shortcut_and_filters(page: tuple[Any, Watch]) -> None:
    tab, watch = page
    tab.goto("/?q=transcribe+audio+to+text")
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.textContent") == "Skip to content"
    tab.keyboard.press("Enter")
    assert tab.evaluate("document.activeElement.id") == "main"
    tab.keyboard.press("/")
    assert tab.evaluate("document.activeElement.id") == "q"
    tab.locator("summary", has_text="Filters").click()  # folded away once there are results
    tab.get_by_label("Type").select_option("model")  # the script re-runs the search at once
    tab.wait_for_url("**type=model**")
    names = tab.locator("ol.results h2").all_inner_texts()
    assert names and "Speechy" not in names
    assert watch.problems == []


HOSTILE_PAGES = ["/?q=transcribe+hostile+voicemail", "/artifacts/hostile-widget",
                 "/compare/hostile-widget-vs-hostile-gadget", "/graph?artifact=hostile-widget",
                 "/agent/artifacts/hostile-widget"]


def test_hostile_payloads_never_run(page: tuple[Any, Watch]) -> None:
    tab, watch = page
    for path in HOSTILE_PAGES:
        tab.goto(path)
        tab.wait_for_load_state("load")
        injected = tab.evaluate("""() => ({
            elements: document.querySelectorAll('img, iframe, object, embed, style, b, body [onload]').length,
            handlers: [...document.querySelectorAll('*')].filter(
                el => [...el.attributes].some(a => a.name.startsWith('on'))).length,
            scripts: [...document.scripts].filter(s => !s.src.endsWith('/static/site.js')).length,
            jsLinks: [...document.querySelectorAll('a[href]')].filter(
                a => a.href.trim().toLowerCase().startsWith('javascript:')).length,
            pwned: document.body.dataset.pwned || null,
        })""")
        assert injected == {"elements": 0, "handlers": 0, "scripts": 0, "jsLinks": 0, "pwned": None}, path
    tab.goto("/artifacts/hostile-widget")
    expect(tab.get_by_role("heading", level=1)).to_have_text("<script>alert('name')</script>Hostile Widget")
    expect(tab.locator(".capability").first).to_contain_text("<script>alert('description')</script>")
    shoot(tab, "hostile-artifact")
    tab.goto("/compare/hostile-widget-vs-hostile-gadget")
    expect(tab.get_by_role("heading", level=1)).to_contain_text("onerror=alert('gadget')>")
    assert watch.problems == []
