"""Awesome-list README markdown as manifests (``mcp`` servers, ``agent``s, ...).

Two layouts are understood, in the same document:

* **bullet entries** (most awesome lists): a top-level bullet whose first markdown link is
  the entry, ``- [Name](url) - what it does``. Icons, badges, HTML, bold markers and
  ``<sup>`` notes before or around the link are ignored; the description may follow
  ``-``, ``–``, ``—``, ``:`` or nothing at all; a leading ``(by someone)`` becomes the
  maintainer. Bullets with words before the link, links to anchors or relative files,
  and links without a description are not entries. Indented bullets under an entry add
  to its description.
* **heading entries** (the e2b agents list): a level-2 heading that is only a link opens
  an entry; the line after it is the tagline; ``Category`` sub-sections give categories,
  ``Links`` sub-sections may give the GitHub repository, every other sub-section
  (Description, Features, ...) is description text. A heading at level 1 or 2 closes it.

The category is the nearest heading (bullet entries) or the entry's Category list. A
github.com link is the repository and makes the entry ``open-source`` with a free tier;
any other link is the homepage. The lists state no prices, so other entries are recorded
as ``freemium`` without claiming a free tier (the e2b list's "closed-source" part too).
Slugs come from the names (MCP entries get a ``-mcp`` ending unless the name says MCP,
since the same product often has an agent, an app and an MCP server), made unique within
the document by a numeric suffix. Bullet entries get one capability, key ``main``;
heading entries' longer texts go through the decomposer. HTML comments are ignored.

**Mixed lists** (``kind="sections"``, the ``awesome`` source): lists such as
awesome-generative-ai or awesome-production-machine-learning hold models, products, libraries
and reading in one document, so the type comes from the headings above each entry
(:data:`SECTION_TYPES`, tried from the nearest heading outwards), and sections that hold no
artifacts (reading lists, courses, papers, milestones, newsletters, "more lists", other awesome
lists: :data:`SKIPPED_SECTIONS`) are left out. An entry under no typed heading is a ``repo``
when it links to GitHub and a ``webapp`` otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from matchgraph.engine.catalog.decompose import Embed, clip, decompose, first_sentence, strip_inline_markdown
from matchgraph.engine.catalog.importers._common import github_owner, is_github, labels, make_slug, prune
from matchgraph.engine.catalog.models import ArtifactType

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^( *)[-*+]\s+(.*)$")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]*)\)")
_SUBSECTIONS = {"category", "categories", "description", "links", "features", "stack"}

SECTIONS = "sections"  # the kind that types each entry by its headings

# A heading matching this anywhere above an entry means the entry is not an artifact.
SKIPPED_SECTIONS = re.compile(
    r"\b(recommended reading|reading( list)?s?|learning resources|courses?|tutorials?|papers?|books?"
    r"|articles?|newsletters?|milestones|more lists|other awesome lists|awesome lists|lists on"
    r"|contents|contributing|video overview|quick links)\b",
    re.IGNORECASE,
)

# An entry so named is teaching material, not an artifact, whatever its section.
SKIPPED_ENTRIES = re.compile(r"\b(course|courses|tutorials?|books?|newsletters?|podcasts?)$", re.IGNORECASE)

# Section heading -> artifact type, the first pattern that matches wins (nearest heading first).
SECTION_TYPES: tuple[tuple[re.Pattern[str], ArtifactType], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), ArtifactType(kind)) for pattern, kind in (
        (r"\bmodel (librar(y|ies)|hubs?|zoos?)\b", "platform"),
        (r"\b(image librar(y|ies)|prompts?)\b", "prompt"),
        (r"\b(datasets?|corpora|data sets?)\b", "dataset"),
        (r"\b(leaderboards?|benchmarks?|arenas?)\b", "benchmark"),
        (r"^(foundation |language |open |image |video |audio )?models?$", "model"),
        (r"\b(extensions?|plugins?|add-ons?)\b", "extension"),
        (r"\b(autonomous agents|custom assistants|agents)\b", "agent"),
        (r"\bcoding assistants?\b", "app"),
        (r"\b(developer tools|frameworks?|sdks?)\b", "framework"),
        (r"\bplaygrounds?\b", "webapp"),
        (r"\b(local llm|local search|desktop|custom interfaces?|notebooks?)\b", "app"),
        (r"\bchatbots?\b", "product"),
        (r"\b(deployment|serving|training|orchestration|automl|monitoring|feature stores?|pipelines?"
         r"|annotation|experiment|metadata|optimi[sz]ation|stream processing|explainability"
         r"|privacy|industry[- ]strength)\b", "repo"),
    )
)


@dataclass
class _Entry:
    name: str
    url: str
    category: str | None
    description: str = ""
    maintainer: str | None = None
    categories: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)  # heading entries: markdown for the decomposer
    links: list[str] = field(default_factory=list)
    official: bool = False
    part: str | None = None  # the level-1 heading above it ("Open-source projects", ...)
    sections: tuple[str, ...] = ()  # every heading above it, outermost first


def clean_heading(text: str) -> str:
    """Heading text without emoji, anchors, links or markup."""
    plain = strip_inline_markdown(text)
    return re.sub(r"^[^\w(]+|[^\w)!?.]+$", "", plain).strip()


def _first_http(target: str) -> str | None:
    found = re.search(r"https?://[^\s)<>\]]+", target)
    return found.group(0) if found else None


def _bullet_entry(content: str, category: str | None) -> _Entry | None:
    content = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", content)  # images and badges
    link = _LINK.search(content)
    if link is None:
        return None
    before = strip_inline_markdown(content[: link.start()])
    url = _first_http(link.group(2))
    name = strip_inline_markdown(link.group(1)).strip()
    if re.search(r"[A-Za-z0-9]", before) or url is None or not name:
        return None
    rest = content[link.end():]
    # a link wrapped in <...> leaves its tail behind: "...)>)** - text"
    rest = re.sub(r"^[^\s\[]*\)>\)", "", rest)
    official = "\u2b50" in rest[:80]
    rest = re.sub(r"<sup>.*?</sup>", " ", rest)
    text = re.sub(r"^[^\w\[(\"']+", "", strip_inline_markdown(rest))
    maintainer = None
    by = re.match(r"^\(by ([^)]+)\)", text)
    if by:
        maintainer = by.group(1).strip()
        text = re.sub(r"^[^\w\[(\"']+", "", text[by.end():])
    if not re.search(r"[A-Za-z]{2,}", text):
        return None
    return _Entry(name, url, category, text, maintainer, official=official)


def _parse(text: str) -> list[_Entry]:
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    entries: list[_Entry] = []
    headings: dict[int, str] = {}
    open_entry: _Entry | None = None  # a heading entry being read
    subsection = ""
    last_bullet: _Entry | None = None  # a bullet entry that indented bullets may extend
    for line in text.splitlines():
        head = _HEADING.match(line.strip())
        if head:
            level, title = len(head.group(1)), clean_heading(head.group(2))
            last_bullet = None
            if open_entry is not None and (level > 2 or title.lower() in _SUBSECTIONS):
                subsection = title.lower()
                if subsection not in {"category", "categories", "links"}:
                    open_entry.body.append(f"### {title}")
                continue
            open_entry = None
            headings = {k: v for k, v in headings.items() if k < level}
            headings[level] = title
            bare = re.sub(r"<[^>]+>", "", head.group(2)).strip()
            link = _LINK.fullmatch(re.sub(r"^(:[a-z_]+:|[^\w\[])+", "", bare))
            if level == 2 and link and _first_http(link.group(2)):
                open_entry = _Entry(strip_inline_markdown(link.group(1)), _first_http(link.group(2)) or "",
                                    None, part=headings.get(1))
                subsection = ""
                entries.append(open_entry)
            continue
        if open_entry is not None:
            _read_entry_line(open_entry, subsection, line)
            continue
        bullet = _BULLET.match(line)
        if bullet and len(bullet.group(1)) >= 2:
            if last_bullet is not None:
                extra = strip_inline_markdown(bullet.group(2)).rstrip(".")
                last_bullet.description += ("" if last_bullet.description.endswith(".") else ".") + (
                    f" {extra[:1].upper()}{extra[1:]}.")
            continue
        if bullet:
            nearest = headings[max(headings)] if headings else None
            last_bullet = _bullet_entry(bullet.group(2), nearest)
            if last_bullet is not None:
                last_bullet.part = headings.get(1)
                last_bullet.sections = tuple(headings[k] for k in sorted(headings))
                entries.append(last_bullet)
        elif line.strip():
            last_bullet = None
    return entries


def _read_entry_line(entry: _Entry, subsection: str, line: str) -> None:
    stripped = line.strip()
    if not stripped or re.fullmatch(r"</?details>|</?p>.*|!\[.*", stripped):
        return
    if subsection in {"category", "categories"}:
        plain = re.sub(r"\([^)]*\)", "", strip_inline_markdown(stripped))
        entry.categories.extend(re.sub(r"[-\s]+", " ", c).strip() for c in plain.split(","))
    elif subsection == "links":
        entry.links.extend(u for u in (_first_http(m.group(2)) for m in _LINK.finditer(stripped)) if u)
    elif not subsection and not entry.description:
        entry.description = strip_inline_markdown(stripped)  # the tagline
        entry.body.append(stripped)
    else:
        entry.body.append(line.rstrip())


def _slug_base(name: str, kind: str) -> str:
    """MCP entries end in ``-mcp`` so that "Taskade" the MCP server and "Taskade" the agent differ."""
    if kind == "mcp" and "mcp" not in name.lower():
        return f"{name} mcp"
    return name


def section_type(sections: tuple[str, ...], url: str) -> ArtifactType | None:
    """The type the headings above an entry give it, or None when they hold no artifacts."""
    if any(SKIPPED_SECTIONS.search(title) for title in sections):
        return None
    for title in reversed(sections):
        for pattern, kind in SECTION_TYPES:
            if pattern.search(title.strip()):
                return kind
    return ArtifactType.repo if is_github(url) else ArtifactType.webapp


def _manifest(entry: _Entry, kind: str, seen: set[str], embed: Embed | None) -> dict[str, Any]:
    github = next((u for u in [entry.url, *entry.links] if is_github(u)), None)
    part = (entry.part or "").lower()
    closed = "closed-source" in part or "closed source" in part
    open_source = github is not None and not closed
    summary = first_sentence(entry.description) if entry.body else entry.description
    capabilities: list[dict[str, Any]] = []
    if entry.body:
        capabilities = decompose("\n".join(entry.body), heading=entry.name, embed=embed, max_capabilities=5)
    if not capabilities:
        capabilities = [{"key": "main", "name": clip(entry.name, 300),
                         "description": clip(entry.description or entry.name, 8000)}]
    tags = ["official"] if entry.official or "official" in (entry.category or "").lower() else []
    if entry.part and ("open-source" in part or "open source" in part):
        tags.append("open-source")
    if closed:
        tags.append("closed-source")
    return prune({
        "slug": make_slug(_slug_base(entry.name, kind), seen),
        "name": clip(entry.name, 300),
        "type": kind,
        "maintainer": entry.maintainer or github_owner(github),
        "summary": clip(summary, 2000) or None,
        "homepage": None if is_github(entry.url) else entry.url,
        "repository": github,
        "pricing": {"model": "open-source", "free_tier": True} if open_source
        else {"model": "freemium", "free_tier": False},
        "categories": labels(entry.categories or [entry.category or ""]),
        "tags": tags,
        "capabilities": capabilities,
    })


def import_awesome(text: str, kind: str = "mcp", embed: Embed | None = None) -> list[dict[str, Any]]:
    """Manifest dicts for every entry of an awesome-list README; ``kind`` is the artifact type,
    or ``"sections"`` to type each entry by its headings and leave out non-artifact sections."""
    if not isinstance(text, str):
        raise ValueError("expected markdown text")
    seen: set[str] = set()
    if kind == SECTIONS:
        entries = [e for e in _parse(text) if not SKIPPED_ENTRIES.search(e.name.strip())]
        typed = ((entry, section_type(entry.sections, entry.url)) for entry in entries)
        return [_manifest(entry, t.value, seen, embed) for entry, t in typed if t is not None]
    kind = ArtifactType(kind).value  # ValueError for an unknown type
    return [_manifest(entry, kind, seen, embed) for entry in _parse(text)]
