"""Rendering: the Jinja2 environment (autoescaping every .html template), page metadata,
content negotiation for Markdown, and the HTML error page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from matchgraph.engine.errors import IndexMismatch, IndexNotReady, InvalidFeedback, InvalidQuery, NotFound

from . import svg
from .views import PartView, SideView, compare_path

HERE = Path(__file__).parent
STATUS = {NotFound: 404, InvalidQuery: 422, InvalidFeedback: 422, IndexNotReady: 503,
          IndexMismatch: 503}
TITLES = {404: "Page not found", 422: "That request cannot be answered", 503: "Not ready yet",
          500: "Something went wrong"}

_UNPRINTABLE = {c: None for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F,
                                   *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]}


def _printable(value: object) -> object:
    """Every {{ value }} on a page: control and bidi-override characters dropped, then escaped."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return value.translate(_UNPRINTABLE)
    return value


env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(enabled_extensions=("html", "svg", "xml"), default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_printable,
)
env.globals["compare_path"] = compare_path
env.filters["short"] = svg.short


def _points(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")) if text else ""


def _bars(parts: list[PartView]) -> svg.Bars:
    return svg.score_bars([(p.label, p.value, p.n, p.low, p.high, p.known) for p in parts])


def _pairs(a: SideView, b: SideView) -> tuple[list[svg.PairBar], float]:
    values_b = {p.key: p.value for p in b.parts}
    return svg.paired_bars([(p.label, p.value, values_b.get(p.key, 0.0)) for p in a.parts])


env.filters["points"] = _points
env.filters["sentence"] = _sentence
env.globals.update(bars_for=_bars, pairs_for=_pairs, spark_for=svg.sparkline)


@dataclass(frozen=True)
class Meta:
    title: str
    description: str
    path: str  # canonical path, e.g. /artifacts/x
    markdown_path: str | None = None
    index: bool = True  # False: ask search engines not to index (search results, graph views)


def base_url(request: Request) -> str:
    """Where the pages live, from the settings (``public_url``, else the address ``serve``
    listens on); never from the request's Host header, which the client writes."""
    server = request.app.state.matchgraph.settings.server
    return (server.public_url or f"http://{server.host}:{server.port}").rstrip("/")


def render(request: Request, template: str, meta: Meta, status: int = 200,
           **context: Any) -> HTMLResponse:
    html = env.get_template(template).render(
        meta=meta, base=base_url(request), canonical=base_url(request) + meta.path, **context
    )
    return HTMLResponse(html, status_code=status)


def wants_markdown(request: Request) -> bool:
    """True when the client prefers text/markdown to text/html (agents ask for it explicitly)."""
    accept = request.headers.get("accept", "").lower()
    if "text/markdown" not in accept:
        return False
    return "text/html" not in accept or accept.index("text/markdown") < accept.index("text/html")


def markdown_response(text: str, status: int = 200) -> Response:
    return Response(text, status_code=status, media_type="text/markdown; charset=utf-8",
                    headers={"Vary": "Accept"})


def error_page(request: Request, status: int, reason: str, query: str = "") -> HTMLResponse:
    title = TITLES.get(status, "Something went wrong")
    meta = Meta(title, f"{title}: {reason}"[:300], request.url.path, index=False)
    return render(request, "error.html", meta, status=status, status_code=status, reason=reason,
                  query=query)


def status_of(exc: Exception) -> int:
    for kind, status in STATUS.items():
        if isinstance(exc, kind):
            return status
    return 500
