"""The web pages: thin routes that call the Matchgraph façade and render templates.

Domain errors are caught here and rendered as HTML (or Markdown) pages with the right
status; the JSON error handlers of the API never see them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from matchgraph.api.deps import ClientDep, MatchgraphDep
from matchgraph.engine.errors import InvalidQuery, MatchgraphError, NotFound
from matchgraph.engine.search.searcher import SearchRequest

from . import graphs, seo
from .markdown import artifact_markdown, compare_markdown, md
from .pages import Meta, base_url, error_page, markdown_response, render, status_of, wants_markdown
from .searching import (
    EXAMPLES,
    FREE_OPTIONS,
    PAGE_SIZE,
    PRICING_OPTIONS,
    TYPE_OPTIONS,
    FormError,
    SearchForm,
    run_search,
)
from .views import artifact_view, compare_path, compare_view, split_pair

router = APIRouter(include_in_schema=False)
GRAPH_HITS = 8


def _search_context(form: SearchForm) -> dict[str, Any]:
    return {"form": form, "types": TYPE_OPTIONS, "pricings": PRICING_OPTIONS, "frees": FREE_OPTIONS,
            "examples": EXAMPLES}


@router.get("/")
def search_page(request: Request, mg: MatchgraphDep, client: ClientDep) -> Response:
    names = ("q", "type", "pricing", "free", "category", "page")
    params = {k: request.query_params.get(k, "") for k in names}
    try:
        form = SearchForm.read(params)
    except FormError as exc:
        return error_page(request, 422, str(exc))
    context = _search_context(form)
    if not form.asked:
        meta = Meta("Find the AI tool that does what you need",
                    "Describe a need in plain words and get models, APIs, repositories, agents and apps "
                    "ranked by the capabilities that serve it, with the reasons why.", "/")
        return render(request, "search.html", meta, results=None, error=None, **context)
    meta = Meta(f"Results for “{form.q.strip()[:80]}”",
                f"AI artifacts matching “{form.q.strip()[:120]}”, ranked by matched capabilities.",
                "/", index=False)
    try:
        wanted = SearchRequest(form.q, form.filters(), PAGE_SIZE, (form.page - 1) * PAGE_SIZE,
                               source="web", client_id=client)
        result = mg.search(wanted)
    except (FormError, InvalidQuery) as exc:
        return render(request, "search.html", meta, status=422, results=None, error=str(exc), **context)
    except MatchgraphError as exc:
        return error_page(request, status_of(exc), str(exc), form.q)
    return render(request, "search.html", meta, results=run_search(mg, form, result), error=None,
                  **context)


@router.get("/artifacts/{slug}")
def artifact_page(request: Request, mg: MatchgraphDep, slug: str) -> Response:
    markdown = wants_markdown(request)
    try:
        view = artifact_view(mg, slug)
    except MatchgraphError as exc:
        return _failure(request, exc, markdown)
    if markdown:
        return markdown_response(artifact_markdown(view, base_url(request)))
    a = view.record.artifact
    summary = a.summary or (view.capabilities[0].description if view.capabilities else a.name)
    meta = Meta(f"{a.name}: capabilities, score and alternatives", summary[:300],
                f"/artifacts/{a.slug}", markdown_path=f"/agent/artifacts/{a.slug}")
    response = render(request, "artifact.html", meta, view=view, picture=graphs.neighbourhood(view))
    response.headers["Vary"] = "Accept"
    return response


@router.get("/agent/artifacts/{slug}")
def artifact_markdown_page(request: Request, mg: MatchgraphDep, slug: str) -> Response:
    try:
        return markdown_response(artifact_markdown(artifact_view(mg, slug), base_url(request)))
    except MatchgraphError as exc:
        return _failure(request, exc, markdown=True)


@router.get("/compare")
def compare_form(request: Request, mg: MatchgraphDep, a: str = "", b: str = "") -> Response:
    """The “compare with…” form: ``b`` may be a slug or a few words naming the other artifact."""
    first = _existing(mg, a)
    if first is None:
        return error_page(request, 404, f"there is no artifact {a.strip()[:80]!r} to compare")
    second = _existing(mg, b) or _best_match(mg, b, first)
    if second is None:
        return error_page(request, 404, f"no artifact other than {first} matches “{b.strip()[:80]}”")
    return RedirectResponse(compare_path(first, second), status_code=303)


def _existing(mg: MatchgraphDep, slug: str) -> str | None:
    try:
        return mg.get_artifact(slug.strip()).artifact.slug
    except MatchgraphError:
        return None


def _best_match(mg: MatchgraphDep, words: str, other_than: str) -> str | None:
    try:
        hits = mg.search(SearchRequest(words, limit=3, record=False)).hits
    except MatchgraphError:
        return None
    return next((h.artifact.artifact.slug for h in hits if h.artifact.artifact.slug != other_than), None)


@router.get("/compare/{pair}")
def compare_page(request: Request, mg: MatchgraphDep, pair: str) -> Response:
    return _compare(request, mg, pair, wants_markdown(request))


@router.get("/agent/compare/{pair}")
def compare_markdown_page(request: Request, mg: MatchgraphDep, pair: str) -> Response:
    return _compare(request, mg, pair, markdown=True)


def _compare(request: Request, mg: MatchgraphDep, pair: str, markdown: bool) -> Response:
    sides = split_pair(mg, pair)
    if sides is None or sides[0] == sides[1]:
        reason = ("a comparison needs two different artifacts" if sides else
                  "a comparison address is /compare/A-vs-B, where A and B are artifact slugs")
        return _failure(request, NotFound(reason), markdown)
    try:
        view = compare_view(mg, *sides)
    except MatchgraphError as exc:
        return _failure(request, exc, markdown)
    if markdown:
        return markdown_response(compare_markdown(view, base_url(request)))
    meta = Meta(view.title, view.summary[:300], view.canonical_path,
                markdown_path="/agent" + view.canonical_path)
    response = render(request, "compare.html", meta, view=view)
    response.headers["Vary"] = "Accept"
    return response


@router.get("/graph")
def graph_page(request: Request, mg: MatchgraphDep, client: ClientDep, q: str = "",
               artifact: str = "") -> Response:
    meta = Meta("Explore the match graph",
                "Which AI artifacts searches return together: substitutes that do the same job and "
                "complements used alongside each other.", "/graph", index=not (q or artifact))
    view, focus, error = None, None, None
    try:
        if artifact:
            focus = mg.get_artifact(artifact.strip())
            view = graphs.explore(mg, [focus], focus=focus.artifact.slug)
        elif q.strip():
            result = mg.search(SearchRequest(q, limit=GRAPH_HITS, source="web", client_id=client))
            seeds = [hit.artifact for hit in result.hits]
            view = graphs.explore(mg, seeds) if seeds else None
    except InvalidQuery as exc:
        error = str(exc)
    except MatchgraphError as exc:
        return error_page(request, status_of(exc), str(exc), q)
    return render(request, "graph.html", meta, status=422 if error else 200, view=view, focus=focus,
                  q=q, error=error)


@router.get("/sitemap.xml")
def sitemap(request: Request, mg: MatchgraphDep) -> Response:
    xml = seo.sitemap_xml(base_url(request), seo.sitemap_paths(mg))
    return Response(xml, media_type="application/xml")


@router.get("/robots.txt")
def robots(request: Request) -> Response:
    return Response(seo.robots_txt(base_url(request)), media_type="text/plain")


@router.get("/llms.txt")
def llms(request: Request) -> Response:
    return Response(seo.llms_txt(base_url(request)), media_type="text/plain")


def _failure(request: Request, exc: Exception, markdown: bool) -> Response:
    status = status_of(exc)
    if markdown:
        return markdown_response(f"# Error {status}\n\n{md(exc)}\n", status)
    return error_page(request, status, str(exc))
