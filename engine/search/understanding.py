"""Reading a need: which artifacts it names, which kind of artifact it asks for, and the other
spellings of its abbreviations.

Everything here is learned from the catalog served with the index (names, slugs, aliases,
types, categories) and from one small table in data (``data/synonyms.yaml``): nothing is
tuned to particular queries.

- **Names**: an artifact is *named* when its name, slug or one of its aliases appears in the
  need as a phrase ("sdxl", "postgres mcp server"). A one-word name that is also an ordinary
  word of the catalog ("make", "modal") does not count on its own: too many needs use it
  otherwise.
- **Kinds**: the need asks for a kind when it names an artifact type ("a dataset of…", "an MCP
  server that…", "which model…") or a category ("a vector database…") in its head, i.e.
  before the first word that starts a qualifier ("for", "of", "that", "with", …). The last
  kind named there wins: in "agent framework for …" the need asks for a framework.
- **Synonyms**: a need containing one spelling of a group ("postgres", "tts") gets the group's
  other spellings added to what the lexical retriever reads.
- **Alternatives**: "alternative to X", "X alternative", "instead of X", "like X" name X as the
  thing to move away from, not the answer; the search then also looks near X's capabilities.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from matchgraph.engine.catalog.models import Artifact

_TOKEN = re.compile(r"[a-z0-9]+(?:[.+][a-z0-9]+)*")
MAX_PHRASE = 6
QUALIFIERS = frozenset({
    "for", "of", "that", "which", "who", "with", "from", "to", "on", "in", "into", "using", "by",
    "about", "where", "when", "so", "and", "or", "like", "without", "than", "as", "via", "under",
    "over", "across", "through", "behind", "inside", "within", "at", "against", "between",
})
ALTERNATIVE_TO = (("alternative", "to"), ("alternatives", "to"), ("instead", "of"), ("replacement", "for"),
                  ("replace",), ("cheaper", "than"), ("similar", "to"), ("like",), ("competitor", "to"),
                  ("competitors", "to"), ("switch", "from"), ("migrate", "from"))
ALTERNATIVE_AFTER = frozenset({"alternative", "alternatives", "replacement", "competitor", "competitors",
                               "clone", "equivalent"})
# How people write each artifact type when they ask for one (the type's own name first).
TYPE_WORDS: dict[str, tuple[str, ...]] = {
    "agent": ("agent", "agents"),
    "api": ("api", "apis", "hosted api", "endpoint"),
    "app": ("app", "apps", "desktop app", "mac app", "mobile app"),
    "benchmark": ("benchmark", "benchmarks", "leaderboard", "eval suite"),
    "cli": ("cli", "clis", "command line tool", "command-line tool", "terminal tool"),
    "dataset": ("dataset", "datasets", "data set", "corpus", "corpora"),
    "extension": ("extension", "extensions", "plugin", "plugins", "add-on"),
    "finetune": ("finetune", "fine-tuned model", "finetuned model", "fine-tune of"),
    "framework": ("framework", "frameworks", "library", "libraries", "sdk"),
    "mcp": ("mcp server", "mcp servers", "mcp"),
    "model": ("model", "models", "weights", "checkpoint"),
    "platform": ("platform", "platforms", "managed service", "hosted service", "cloud service"),
    "product": ("product", "subscription"),
    "prompt": ("prompt", "prompts", "prompt library", "prompt collection"),
    "repo": ("repo", "repository", "github repo", "open source project"),
    "skill": ("skill", "skills", "agent skill", "claude skill"),
    "template": ("template", "templates", "starter", "boilerplate", "starter kit"),
    "webapp": ("web app", "webapp", "website", "online tool"),
    "workflow": ("workflow", "workflows", "automation tool"),
}
# Types close enough to the one asked for that ranking them is no miss: someone asking for "an
# app" is served by a web app or a subscription product, "a model" by a fine-tune of one.
RELATED_TYPES: dict[str, frozenset[str]] = {
    "app": frozenset({"webapp", "product"}),
    "webapp": frozenset({"app", "product", "platform"}),
    "product": frozenset({"app", "webapp"}),
    "model": frozenset({"finetune"}),
    "finetune": frozenset({"model"}),
    "api": frozenset({"platform"}),
    "platform": frozenset({"api", "webapp"}),
    "framework": frozenset({"repo"}),
    "repo": frozenset({"framework", "cli", "template"}),
    "cli": frozenset({"repo", "agent"}),
    "agent": frozenset({"cli", "app", "product", "extension"}),
    "template": frozenset({"workflow", "repo"}),
    "workflow": frozenset({"template"}),
    "prompt": frozenset({"skill"}),
    "skill": frozenset({"prompt"}),
    "benchmark": frozenset({"dataset"}),
    "dataset": frozenset({"benchmark"}),
}
_CASED = re.compile(r"(?<![.!?:]\s)(?<!^)\b([A-Za-z][A-Za-z0-9]+)\b")


def ordinary_words(artifacts: Iterable[Artifact]) -> set[str]:
    """Words the catalog's own prose writes in lower case mid-sentence more often than
    capitalised: ordinary words ("make", "modal"), as opposed to names ("Midjourney", "Ollama")."""
    lower: Counter[str] = Counter()
    upper: Counter[str] = Counter()
    for a in artifacts:
        prose = [a.summary or ""]
        prose += [text for c in a.capabilities for text in (c.description, c.vs_alternatives or "")]
        for text in prose:
            for word in _CASED.findall(text):
                (lower if word.islower() else upper)[word.lower()] += 1
    return {w for w, n in lower.items() if n >= upper[w]}


def words(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(text.lower().replace("_", " ")))


@lru_cache(maxsize=1)
def synonym_groups(path: Path | None = None) -> tuple[tuple[str, ...], ...]:
    """The groups of ``data/synonyms.yaml`` (or another table)."""
    from matchgraph.engine.settings import bundled_data

    table = yaml.safe_load((path or bundled_data() / "synonyms.yaml").read_text(encoding="utf-8"))
    return tuple(tuple(" ".join(words(s)) for s in group) for group in table["groups"])


def _phrases(tokens: Sequence[str]) -> Iterable[tuple[int, int, tuple[str, ...]]]:
    """Every (start, end, phrase) of up to MAX_PHRASE tokens."""
    for i in range(len(tokens)):
        for n in range(1, min(MAX_PHRASE, len(tokens) - i) + 1):
            yield i, i + n, tuple(tokens[i : i + n])


@dataclass(frozen=True)
class Reading:
    """What a need says beyond its words."""

    named: frozenset[int] = frozenset()  # artifact row ids whose name or alias it contains
    name_share: Mapping[int, float] = field(default_factory=dict)  # … and the share of its words that is
    avoid: frozenset[int] = frozenset()  # artifacts it wants an alternative to
    kind_types: frozenset[str] = frozenset()  # artifact types it asks for
    kind_categories: frozenset[str] = frozenset()  # categories it asks for
    expansions: tuple[str, ...] = ()  # other spellings added for the lexical retriever
    equivalents: tuple[tuple[str, str], ...] = ()  # (spelling in the need, another spelling)

    def lexical_text(self, query: str) -> str:
        return " ".join((query, *self.expansions)) if self.expansions else query


@dataclass
class NeedReader:
    """Built once per served catalog snapshot; ``read`` is a few dictionary lookups."""

    names: dict[tuple[str, ...], frozenset[int]] = field(default_factory=dict)
    kinds: dict[tuple[str, ...], tuple[str, str]] = field(default_factory=dict)  # phrase -> (facet, value)
    synonyms: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, artifacts: Mapping[int, Artifact],
              groups: Sequence[Sequence[str]] | None = None) -> NeedReader:
        reader = cls()
        groups = groups if groups is not None else synonym_groups()
        # one-word names that are also ordinary words, synonyms ("llm") or kinds ("agent") name
        # too many needs to count as naming that artifact
        common = ordinary_words(artifacts.values()) | {s for g in groups for s in g} | {
            form for forms in TYPE_WORDS.values() for form in forms}
        by_phrase: dict[tuple[str, ...], set[int]] = {}
        for row_id, a in artifacts.items():
            for label in (a.name, a.name.split(":")[-1], re.sub(r"\(.*?\)", " ", a.name),
                          a.slug.replace("-", " "), *a.aliases):
                phrase = words(label)
                if phrase and not (len(phrase) == 1 and (phrase[0] in common or len(phrase[0]) < 2)):
                    by_phrase.setdefault(phrase, set()).add(row_id)
        reader.names = {p: frozenset(ids) for p, ids in by_phrase.items()}
        for type_, forms in TYPE_WORDS.items():
            for form in forms:
                reader.kinds[words(form)] = ("type", type_)
        categories = {c for a in artifacts.values() for c in a.categories}
        for category in categories:
            phrase = words(category.replace("-", " "))
            if len(phrase) > 1:  # one-word categories ("llm", "search") are topics, not kinds
                reader.kinds.setdefault(phrase, ("category", category))
        for group in groups:
            spellings = [words(s) for s in group]
            for s in spellings:
                reader.synonyms[s] = tuple(" ".join(o) for o in spellings if o != s)
        return reader

    def read(self, query: str) -> Reading:
        tokens = words(query)
        named: set[int] = set()
        share: dict[int, float] = {}
        avoid: set[int] = set()
        equivalents: list[tuple[str, str]] = []
        head_end = next((i for i, t in enumerate(tokens) if t in QUALIFIERS and i > 0), len(tokens))
        kind: tuple[int, tuple[str, str]] | None = None
        for start, end, phrase in _phrases(tokens):
            ids = self.names.get(phrase)
            if ids:
                if self._after_alternative(tokens, start) or self._before_alternative(tokens, end):
                    avoid |= ids
                else:
                    named |= ids
                    for i in ids:
                        share[i] = max(share.get(i, 0.0), (end - start) / len(tokens))
            if end <= head_end and phrase in self.kinds and (kind is None or end >= kind[0]):
                kind = (end, self.kinds[phrase])
            equivalents += [(" ".join(phrase), other) for other in self.synonyms.get(phrase, ())]
        types = frozenset({kind[1][1]} if kind and kind[1][0] == "type" else ())
        categories = frozenset({kind[1][1]} if kind and kind[1][0] == "category" else ())
        expansions = tuple(dict.fromkeys(other for _, other in equivalents))
        return Reading(frozenset(named - avoid), {i: v for i, v in share.items() if i not in avoid},
                       frozenset(avoid), types, categories, expansions, tuple(equivalents))

    @staticmethod
    def _before_alternative(tokens: Sequence[str], end: int) -> bool:
        """ "X alternative", "X alternatives", "X replacement", "X competitor"."""
        return end < len(tokens) and tokens[end] in ALTERNATIVE_AFTER

    @staticmethod
    def _after_alternative(tokens: Sequence[str], start: int) -> bool:
        for marker in ALTERNATIVE_TO:
            n = len(marker)
            for gap in (0, 1):  # "alternative to X", "alternative to the X"
                at = start - n - gap
                if at >= 0 and tuple(tokens[at : at + n]) == marker:
                    return True
        return False
