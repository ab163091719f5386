"""Turn a long free-text description into capability dicts, deterministically.

A README, a model card or a one-paragraph description usually mixes what a thing *does*
with noise: badges, install commands, link lists, licence notes. ``decompose`` keeps the
first kind and shapes it into capabilities:

1. markdown is cleaned (comments, code blocks, images, tables and HTML go), then split into
   sections by heading; sections whose heading is boilerplate (installation, licence,
   contributing, ...) are dropped whole;
2. each section is split into bullet items and paragraph sentences; units that are
   boilerplate (install commands, licence lines, badge or link-only lines, calls to star
   or follow) are dropped;
3. consecutive units are packed into chunks of roughly ``target_chars``; a bullet with a
   bold label (``**Fast search**: ...``) or a long bullet stays a chunk of its own;
4. near-duplicate chunks are merged (the earlier one is kept): by cosine similarity of
   embeddings when an ``embed`` callable is given, otherwise by token Jaccard similarity;
5. each chunk is named (its bold label, else its section heading when the section yields a
   single chunk, else the leading words of its first sentence, at most 60 characters) and
   given a key slugified from the name and made unique.

The same input always gives the same output; nothing here reads the clock or the network.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Embed = Callable[[list[str]], Any]  # list of texts -> (n, d) array of L2-normalised vectors

EMBED_THRESHOLD = 0.85
JACCARD_THRESHOLD = 0.6
NAME_MAX = 60

_GENERIC_HEADINGS = {
    "about", "description", "details", "feature", "features", "highlights", "introduction",
    "key features", "main features", "overview", "summary", "what is it", "what it does",
}
_BOILERPLATE_HEADING = re.compile(
    r"^(installation|installing|install|setup|set up|quick ?start|getting started|license|licence|"
    r"contributing|contributors|contribute|acknowledge?ments|credits|authors|citation|cite|"
    r"how to cite|table of contents|contents|toc|sponsors?|backers|changelog|star history|"
    r"badges|support|community|links|development|building from source|build)"
    r"(\s+(instructions|guide|notes|section))?$",
    re.IGNORECASE,
)
_INSTALL = re.compile(
    r"(^\s*\$\s)|\b(pip3?|pipx|npm|npx|yarn|pnpm|bun|brew|apt(-get)?|cargo|go|uvx?|poetry|conda|"
    r"docker|helm|gem|composer)\s+(install|add|i|get|run|pull|build)\b|\bgit clone\b|\bcurl\s+-",
    re.IGNORECASE,
)
_LICENSE = re.compile(
    r"^(this (project|repository|software|code) is )?(licensed|released|distributed) under\b|"
    r"\b(mit|apache([- ]2(\.0)?)?|bsd|gpl(v\d)?|agpl|lgpl|mpl|cc[- ]by\S*|cc0)\s+licen[cs]e\b|"
    r"^licen[cs]e\s*[:\-]",
    re.IGNORECASE,
)
_NOISE = re.compile(
    r"\b(star (us|this repo)|give (us|it) a star|join (us|our)|follow us|click here|"
    r"read more|see (the )?(docs|documentation) for|pull requests? (are )?welcome)\b",
    re.IGNORECASE,
)
_STOPWORDS = frozenset({
    "a", "all", "also", "an", "and", "any", "are", "as", "at", "be", "by", "can", "for", "from", "has",
    "have", "in", "into", "is", "it", "its", "more", "of", "on", "or", "our", "than", "that", "the",
    "their", "this", "to", "was", "we", "were", "which", "will", "with", "you", "your",
})
_TRAILING = frozenset({"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or",
                       "that", "the", "to", "via", "which", "with"})


# -- small text helpers (the importers use these too) ------------------------------------
def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def slugify(text: str, *, dots: bool = False, max_len: int = 80) -> str:
    """Lowercase ASCII letters, digits and hyphens (and dots if asked); '' when nothing is left."""
    allowed = r"[^a-z0-9.]+" if dots else r"[^a-z0-9]+"
    slug = re.sub(allowed, "-", ascii_fold(text).lower())
    slug = re.sub(r"-{2,}", "-", slug).strip("-.")
    if len(slug) > max_len:
        slug = slug[:max_len].rstrip("-.")
    return slug


def unique_name(base: str, seen: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3``, ... whichever is not in ``seen``; records it."""
    name, n = base, 1
    while name in seen:
        n += 1
        name = f"{base}-{n}"
    seen.add(name)
    return name


def strip_inline_markdown(text: str) -> str:
    """Plain text of one markdown line: images and HTML go, links keep their text."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"(?<!\w):[a-z0-9_+-]+:(?!\w)", " ", text)  # :shortcode: emoji
    text = text.replace("\\*", "*").replace("\\_", "_")
    text = re.sub(r"(\*\*|__|`)", "", text)
    text = re.sub(r"(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)", "", text)
    return re.sub(r"\s+", " ", text).strip()


_ABBREV = re.compile(r"\b(e\.g|i\.e|etc|vs|approx|incl|no|cf)\.", re.IGNORECASE)


def split_sentences(text: str) -> list[str]:
    protected = _ABBREV.sub(lambda m: m.group(0).replace(".", "\x00"), text)
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\u201c])", protected)
    return [p.replace("\x00", ".").strip() for p in parts if p.strip()]


def first_sentence(text: str) -> str:
    sentences = split_sentences(strip_inline_markdown(text))
    return sentences[0] if sentences else ""


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:-")
    return cut or text[:limit]


# -- parsing ----------------------------------------------------------------------------
@dataclass
class _Unit:
    text: str
    label: str | None = None
    bullet: bool = False


@dataclass
class _Section:
    heading: str | None
    units: list[_Unit] = field(default_factory=list)


def _is_boilerplate(raw: str, plain: str) -> bool:
    without_links = re.sub(r"!?\[[^\]]*\]\([^)]*\)|https?://\S+", " ", raw)
    words = re.findall(r"[A-Za-z]{2,}", strip_inline_markdown(without_links))
    return (
        len(words) < 2
        or len(re.findall(r"[A-Za-z]{2,}", plain)) < 3
        or bool(_INSTALL.search(plain) or _LICENSE.search(plain) or _NOISE.search(plain))
    )


def _sections(text: str, heading: str | None) -> list[_Section]:
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.DOTALL)
    text = re.sub(r"^\s*(```|~~~).*?^\s*(```|~~~)[^\n]*$", " ", text, flags=re.DOTALL | re.MULTILINE)
    sections = [_Section(heading)]
    skipping = False
    paragraph: list[str] = []

    def flush_paragraph() -> None:
        if paragraph and not skipping:
            for sentence in split_sentences(" ".join(paragraph)):
                sections[-1].units.append(_Unit(sentence))
        paragraph.clear()

    for line in text.splitlines():
        stripped = line.strip().lstrip(">").strip()
        head = re.match(r"^#{1,6}\s+(.*?)\s*#*$", stripped)
        if head:
            flush_paragraph()
            title = strip_inline_markdown(head.group(1)).strip(" :")
            skipping = bool(_BOILERPLATE_HEADING.match(title))
            sections.append(_Section(title or None))
            continue
        bullet = re.match(r"^([-*+]|\d+[.)])\s+(.*)$", stripped)
        if not stripped or stripped.startswith("|") or bullet:
            flush_paragraph()
        if skipping or not stripped or stripped.startswith("|"):
            continue
        if bullet:
            raw = bullet.group(2)
            plain = strip_inline_markdown(raw)
            if _is_boilerplate(raw, plain):
                continue
            labelled = re.match(r"^\s*(?:\*\*|__)(.+?)(?:\*\*|__)\s*[:\-\u2013\u2014]\s*(.+)$", raw)
            label = strip_inline_markdown(labelled.group(1)).rstrip(":") if labelled else None
            body = strip_inline_markdown(labelled.group(2)) if labelled else plain
            sections[-1].units.append(_Unit(body, label or None, bullet=True))
        else:
            plain = strip_inline_markdown(stripped)
            if not _is_boilerplate(stripped, plain):
                paragraph.append(plain)
    flush_paragraph()
    return [s for s in sections if s.units]


# -- chunking, merging, naming ----------------------------------------------------------
def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text[-1:] in ".!?" else text + "."


def _chunks(section: _Section, target: int) -> list[list[_Unit]]:
    chunks: list[list[_Unit]] = []
    current: list[_Unit] = []
    size = 0
    for unit in section.units:
        alone = unit.bullet and (unit.label is not None or len(unit.text) >= target // 2)
        if alone or (current and size + len(unit.text) > target):
            if current:
                chunks.append(current)
            current, size = [], 0
        if alone:
            chunks.append([unit])
            continue
        current.append(unit)
        size += len(unit.text) + 1
    if current:
        chunks.append(current)
    return chunks


def _tokens(text: str) -> frozenset[str]:
    return frozenset(w for w in re.findall(r"[a-z0-9]{3,}", text.lower()) if w not in _STOPWORDS)


def _duplicates(texts: Sequence[str], embed: Embed | None, threshold: float | None) -> set[int]:
    """Indexes of texts that nearly repeat an earlier kept text."""
    dropped: set[int] = set()
    if embed is not None:
        vectors = np.asarray(embed(list(texts)), dtype=np.float32)
        sims = vectors @ vectors.T
        limit = EMBED_THRESHOLD if threshold is None else threshold
        for j in range(len(texts)):
            if any(sims[i, j] >= limit for i in range(j) if i not in dropped):
                dropped.add(j)
        return dropped
    token_sets = [_tokens(t) for t in texts]
    limit = JACCARD_THRESHOLD if threshold is None else threshold
    for j, b in enumerate(token_sets):
        for i in range(j):
            a = token_sets[i]
            if i not in dropped and a and b and len(a & b) / len(a | b) >= limit:
                dropped.add(j)
                break
    return dropped


def leading_words(text: str, limit: int = NAME_MAX) -> str:
    """A short name from the start of a sentence: its first clause, at most ``limit`` chars."""
    text = re.split(r"[,;:]\s|\s\(|\s[-\u2013\u2014]\s", text, maxsplit=1)[0]
    words = clip(text.strip().rstrip(".!?"), limit).split()
    while len(words) > 1 and words[-1].lower() in _TRAILING:
        words.pop()
    name = " ".join(words).strip(" .,'\"")
    return name[:1].upper() + name[1:]


def decompose(
    text: str,
    *,
    heading: str | None = None,
    embed: Embed | None = None,
    target_chars: int = 320,
    max_capabilities: int = 6,
    threshold: float | None = None,
) -> list[dict[str, str]]:
    """Capability dicts ``{key, name, description}`` for ``text``, in document order.

    ``heading`` names the text before the first markdown heading. ``embed`` switches
    near-duplicate detection from token Jaccard (>= 0.6) to cosine similarity (>= 0.85);
    ``threshold`` overrides whichever applies.
    """
    named: list[tuple[str, str]] = []
    for section in _sections(text, heading):
        chunks = _chunks(section, target_chars)
        title = section.heading
        use_heading = title is not None and len(chunks) == 1 and title.lower() not in _GENERIC_HEADINGS
        for chunk in chunks:
            description = clip(" ".join(_sentence(u.text) for u in chunk), 2000)
            name = chunk[0].label or (title if use_heading and title else leading_words(chunk[0].text))
            named.append((clip(name, NAME_MAX) or "Capability", description))
    if not named:
        return []
    dropped = _duplicates([d for _, d in named], embed, threshold)
    kept = [pair for i, pair in enumerate(named) if i not in dropped][:max_capabilities]
    seen: set[str] = set()
    return [
        {"key": unique_name(slugify(name, max_len=60) or "capability", seen), "name": name,
         "description": description}
        for name, description in kept
    ]
