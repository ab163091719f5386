"""The search page's form (query and filters read from the URL), its results as view models,
and the highlighting of matched query words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlencode

import Stemmer

from matchgraph.engine.catalog.models import ArtifactType, PricingModel
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.recommend.compare import PRICING_LABELS, pricing_label
from matchgraph.engine.search.filters import SearchFilters
from matchgraph.engine.search.searcher import MAX_OFFSET, ArtifactHit, SearchResult

PAGE_SIZE = 10
SNIPPET_CHARS = 260
TYPE_OPTIONS = [t.value for t in ArtifactType]
PRICING_OPTIONS = [(p.value, PRICING_LABELS[p]) for p in PricingModel]
FREE_OPTIONS = [("", "Any"), ("yes", "Has a free tier"), ("no", "No free tier")]
EXAMPLES = [
    "run an open LLM locally on a laptop",
    "transcribe audio to text",
    "generate product photos with a consistent style",
    "vector database for RAG",
    "let an AI assistant query Postgres safely",
]
_WORD = re.compile(r"\w\w+")


class FormError(ValueError):
    """A filter value the page cannot use; shown to the person with a 422."""


@dataclass(frozen=True)
class SearchForm:
    q: str = ""
    type: str = ""
    pricing: str = ""
    free: str = ""
    category: str = ""
    page: int = 1

    @classmethod
    def read(cls, params: dict[str, str]) -> SearchForm:
        raw_page = params.get("page", "1").strip() or "1"
        # isascii too: "²".isdigit() is True, and int("²") fails
        pages = MAX_OFFSET // PAGE_SIZE + 1
        if not (raw_page.isascii() and raw_page.isdigit()) or not 1 <= int(raw_page) <= pages:
            raise FormError(f"page must be a whole number between 1 and {pages}")
        return cls(params.get("q", ""), params.get("type", "").strip(), params.get("pricing", "").strip(),
                   params.get("free", "").strip(), params.get("category", "").strip()[:100],
                   int(raw_page))

    @property
    def asked(self) -> bool:
        return bool(self.q.strip())

    @property
    def has_filters(self) -> bool:
        return bool(self.type or self.pricing or self.free or self.category)

    def filters(self) -> SearchFilters:
        if self.type and self.type not in TYPE_OPTIONS:
            raise FormError(f"unknown artifact type {self.type!r}")
        if self.pricing and self.pricing not in {v for v, _ in PRICING_OPTIONS}:
            raise FormError(f"unknown pricing model {self.pricing!r}")
        if self.free not in {"", "yes", "no"}:
            raise FormError("free tier must be yes, no or empty")
        return SearchFilters(
            types=(ArtifactType(self.type),) if self.type else (),
            pricing=(PricingModel(self.pricing),) if self.pricing else (),
            free={"yes": True, "no": False}.get(self.free),
            category=self.category or None,
        )

    def href(self, **changes: object) -> str:
        values = {"q": self.q, "type": self.type, "pricing": self.pricing, "free": self.free,
                  "category": self.category, "page": self.page, **changes}
        kept = {k: v for k, v in values.items() if v not in ("", None) and not (k == "page" and v == 1)}
        return "/?" + urlencode(kept) if kept else "/"


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def highlight(text: str, terms: list[str]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, matched) where a matched piece is a word sharing a stem with a term."""
    if not terms:
        return [(text, False)]
    stem = _stemmer().stemWord
    wanted = {stem(t.lower()) for t in terms}
    out: list[tuple[str, bool]] = []
    last = 0
    for m in _WORD.finditer(text):
        if stem(m.group().lower()) in wanted:
            if m.start() > last:
                out.append((text[last:m.start()], False))
            out.append((m.group(), True))
            last = m.end()
    if last < len(text):
        out.append((text[last:], False))
    return out


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.") + " …"


@dataclass(frozen=True)
class MatchView:
    name: list[tuple[str, bool]]
    description: list[tuple[str, bool]]
    terms: list[str]


@dataclass(frozen=True)
class HitView:
    rank: int
    slug: str
    name: str
    type: str
    summary: str
    pricing: str
    score: float | None
    times_matched: int
    matches: list[MatchView]


@dataclass(frozen=True)
class Results:
    query: str
    hits: list[HitView]
    total: int
    first: int
    last: int
    previous_href: str | None
    next_href: str | None
    nearest: list[HitView]  # when nothing serves the need: the closest artifacts, not matches


def _hit_view(mg: Matchgraph, hit: ArtifactHit) -> HitView:
    a = hit.artifact.artifact
    score = mg.score(hit.artifact.row_id)
    matches = [MatchView(highlight(m.name, m.matched_terms),
                         highlight(snippet(m.description), m.matched_terms), m.matched_terms)
               for m in hit.matches]
    return HitView(hit.rank, a.slug, a.name, a.type.value, a.summary or "", pricing_label(a.pricing),
                   score.score if score else None, hit.artifact.times_matched, matches)


def run_search(mg: Matchgraph, form: SearchForm, result: SearchResult) -> Results:
    hits = [_hit_view(mg, hit) for hit in result.hits]
    nearest = [_hit_view(mg, hit) for hit in result.nearest]
    first = result.offset + 1 if hits else 0
    last = result.offset + len(hits)
    previous = form.href(page=form.page - 1) if form.page > 1 else None
    more = last < result.total and result.offset + result.limit <= MAX_OFFSET
    return Results(result.query, hits, result.total, first, last, previous,
                   form.href(page=form.page + 1) if more else None, nearest)
