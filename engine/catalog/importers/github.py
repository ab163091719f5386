"""GitHub repository API JSON as ``repo`` manifests.

Accepts one repository object (``GET /repos/{owner}/{repo}``), a list of them
(``GET /orgs/{org}/repos``) or a search result (``GET /search/repositories``, whose
``items`` are repository objects).

* slug: ``full_name`` with ``/`` turned into ``-``; maintainer: the owner's login;
* homepage: the repository's homepage field when it is a URL; repository: ``html_url``;
* licence: ``license.spdx_id`` (``NOASSERTION`` means GitHub could not tell: omitted);
  pricing ``open-source`` with a licence, ``free`` without one (public code, no licence);
* adoption: ``github_stars`` from ``stargazers_count`` (``as_of`` only when the caller
  passes it: the API does not say when it counted);
* categories and tags: the topics (tags also get the main language and ``archived``);
* updated_at: ``pushed_at``, the last push, which is what freshness should reflect;
* capabilities: the description through the decomposer, or one built from the name,
  language and topics when there is no description.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from matchgraph.engine.catalog.decompose import Embed, clip, decompose, first_sentence
from matchgraph.engine.catalog.importers._common import (
    as_list,
    http_url,
    labels,
    make_slug,
    mapping,
    prune,
    text_of,
)


def _fallback_capability(repo: dict[str, Any], name: str) -> dict[str, str]:
    language = repo.get("language") if isinstance(repo.get("language"), str) else None
    topics = [t for t in as_list(repo.get("topics")) if isinstance(t, str)]
    text = f"{name} is a source repository on GitHub"
    text += f", written mostly in {language}" if language else ""
    text += f", about {', '.join(topics[:6])}." if topics else "."
    return {"key": "repository", "name": clip(name, 300), "description": text}


def _artifact(
    repo: dict[str, Any], seen: set[str], embed: Embed | None, as_of: date | None
) -> dict[str, Any]:
    full_name = repo.get("full_name")
    if not isinstance(full_name, str) or "/" not in full_name:
        return {"slug": None, "name": repo.get("name") or "?", "type": "repo", "capabilities": []}
    owner = mapping(repo.get("owner"))
    name = str(repo.get("name") or full_name.split("/", 1)[1])
    description = text_of(repo.get("description"))
    capabilities: list[dict[str, Any]] = []
    if description.strip():
        capabilities = decompose(description, heading=name, embed=embed, max_capabilities=4)
    if not capabilities:
        capabilities = [_fallback_capability(repo, name)]
    spdx = mapping(repo.get("license")).get("spdx_id")
    spdx = spdx if isinstance(spdx, str) and spdx and spdx != "NOASSERTION" else None
    stars = repo.get("stargazers_count")
    topics = [t for t in as_list(repo.get("topics")) if isinstance(t, str)]
    language = repo.get("language") if isinstance(repo.get("language"), str) else None
    return prune({
        "slug": make_slug(full_name.replace("/", "-"), seen),
        "name": clip(name, 300),
        "type": "repo",
        "maintainer": owner.get("login") or full_name.split("/", 1)[0],
        "summary": clip(first_sentence(description), 2000) or None,
        "homepage": http_url(repo.get("homepage")),
        "repository": http_url(repo.get("html_url")) or f"https://github.com/{full_name}",
        "license": spdx,
        "pricing": {"model": "open-source" if spdx else "free", "free_tier": True},
        "adoption": {"signals": [prune({
            "metric": "github_stars", "value": stars,
            "source": http_url(repo.get("html_url")) or f"https://github.com/{full_name}",
            "as_of": as_of.isoformat() if as_of else None})] if stars is not None else []},
        "categories": labels(topics),
        "tags": labels([language.lower() if language else None, *topics,
                        "archived" if repo.get("archived") is True else None]),
        "updated_at": repo.get("pushed_at"),
        "capabilities": capabilities,
    })


def import_github(document: Any, embed: Embed | None = None, as_of: date | None = None) -> list[Any]:
    """Manifest dicts for GitHub repository objects; non-objects pass through to validation."""
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        entries: list[Any] = document["items"]
    elif isinstance(document, dict) and "full_name" in document:
        entries = [document]
    elif isinstance(document, list):
        entries = document
    else:
        raise ValueError("expected a repository object, a list of them, or a search result with 'items'")
    seen: set[str] = set()
    return [_artifact(e, seen, embed, as_of) if isinstance(e, dict) else e for e in entries]
