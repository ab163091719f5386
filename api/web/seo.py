"""/sitemap.xml and /robots.txt.

The sitemap lists every artifact page (up to the cap) and, for each artifact, comparisons
with its strongest match-graph neighbours, or, when searches have not linked it to anything
yet, with the artifacts most similar to it in content. A comparison is listed once, under
its canonical URL (slugs in alphabetical order). The result is cached for a few minutes
per served index version.
"""

from __future__ import annotations

import threading
import time
from xml.sax.saxutils import escape

from matchgraph.engine.errors import IndexNotReady
from matchgraph.engine.facade import Matchgraph

from .views import compare_path

MAX_URLS = 5000
PER_ARTIFACT = 3
SIMILARITY_FALLBACK_LIMIT = 1000  # artifacts whose comparisons may come from content similarity
CACHE_SECONDS = 300.0
_PAGE = 500

_cache: dict[tuple[int, str, str | None], tuple[float, list[str]]] = {}
_lock = threading.Lock()


def sitemap_paths(mg: Matchgraph) -> list[str]:
    version = mg.health().index_version
    key = (id(mg), str(mg.settings.data_dir), version)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
    paths = _build(mg)
    with _lock:
        _cache.clear()
        _cache[key] = (time.monotonic(), paths)
    return paths


def _build(mg: Matchgraph) -> list[str]:
    slugs: dict[int, str] = {}
    offset = 0
    while len(slugs) < MAX_URLS:
        records, total = mg.list_artifacts(_PAGE, offset)
        slugs.update((r.row_id, r.artifact.slug) for r in records)
        offset += _PAGE
        if not records or offset >= total:
            break
    paths = [f"/artifacts/{slug}" for slug in list(slugs.values())[:MAX_URLS]]
    pairs: set[tuple[str, str]] = set()
    try:
        content = mg.content()
    except IndexNotReady:
        content = None
    for i, (row_id, slug) in enumerate(slugs.items()):
        if len(paths) + len(pairs) >= MAX_URLS:
            break
        _, neighbours = mg.neighbours(slug)
        others = [o.artifact.slug for _, o in neighbours[:PER_ARTIFACT]]
        if len(others) < PER_ARTIFACT and content is not None and i < SIMILARITY_FALLBACK_LIMIT:
            similar = sorted(content.similar_artifacts(row_id).items(), key=lambda kv: (-kv[1], kv[0]))
            others += [slugs[o] for o, _ in similar if o in slugs and slugs[o] not in others]
            others = others[:PER_ARTIFACT]
        for other in others:
            if len(paths) + len(pairs) >= MAX_URLS:
                break
            first, second = sorted((slug, other))
            pairs.add((first, second))
    return paths + [compare_path(a, b) for a, b in sorted(pairs)]


def sitemap_xml(base: str, paths: list[str]) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    lines += [f"  <url><loc>{escape(base + path)}</loc></url>" for path in ["/", *paths]]
    lines.append("</urlset>")
    return "\n".join(lines) + "\n"


def robots_txt(base: str) -> str:
    return "\n".join([
        "User-agent: *",
        "Allow: /",
        "Disallow: /v1/",
        "Disallow: /graph",
        "Disallow: /compare?",
        "Disallow: /?",
        f"Sitemap: {base}/sitemap.xml",
        "",
    ])


def llms_txt(base: str) -> str:
    """What an agent reading /llms.txt needs to use the service: the REST calls and MCP tools."""
    return "\n".join([
        "# matchgraph",
        "",
        "> Search-and-match recommendations for AI artifacts (models, APIs, repositories, MCP servers,",
        "> agents, apps, datasets): describe a need in plain words, get the artifacts whose",
        "> capabilities serve it, with why, a 0-100 score with its evidence, and comparisons.",
        "",
        "## REST API (JSON; OpenAPI at /openapi.json)",
        "",
        f"- [Search]({base}/v1/search?q=run+an+open+LLM+locally): GET /v1/search?q=…&type=…&limit=…; "
        "`no_match` when nothing in the catalog serves the need",
        "- Resolve: POST /v1/resolve {intent, type?} -> one artifact, the capability, a confidence",
        "- Compare: GET /v1/compare/{a}/{b} -> table, aligned capabilities, verdict",
        "- Alternatives: GET /v1/artifacts/{slug}/alternatives",
        "- Artifact: GET /v1/artifacts/{slug}; score with evidence: GET /v1/artifacts/{slug}/score",
        "- Feedback: POST /v1/feedback {search_id | resolve_id, artifact, outcome}",
        f"- [Manifest format]({base}/v1/schema/manifest.json): JSON Schema",
        "",
        "## Markdown pages for agents",
        "",
        "- /agent/artifacts/{slug}, /agent/compare/{a}-vs-{b}",
        "",
        f"## MCP (stdio: `matchgraph mcp`; streamable HTTP: {base}/mcp/ with an API key)",
        "",
        "- Tools: search_capabilities, resolve_capability, compare, alternatives, artifact_passport, "
        "report_outcome",
        "- Resources: matchgraph://artifacts/{slug}",
        "",
    ])
