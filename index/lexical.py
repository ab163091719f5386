"""Lexical retrieval: BM25 (bm25s) over the same capability texts the dense index holds.

Text is lower-cased, split into word tokens, stripped of English stop words and
stemmed (Snowball). User text is only ever tokenised, never parsed as a query
language, so nothing in it can act as syntax.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

LEXICAL_DIR = "lexical"
EMPTY = "empty.json"  # marks an index of texts without a single word
_WORD = re.compile(r"(?u)\b\w\w+\b")


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def _words(text: str) -> list[str]:
    """Lower-cased word tokens without stop words: the split bm25s.tokenize makes."""
    stop = _stopwords()
    return [w for w in _WORD.findall(text.lower()) if w not in stop]


def query_tokens(query: str) -> list[str]:
    """The stems BM25 scores a query by: what ``bm25s.tokenize`` makes of it (stop words out,
    Snowball stems), as the indexed texts were split. Kept per text: a search reads its need
    and the synonyms' spellings several times.

    bm25s.tokenize builds a vocabulary and three progress bars (even hidden ones) per call,
    about a twentieth of the event loop's time per search under load; one query needs none of it.
    """
    return list(_query_stems(query))


@lru_cache(maxsize=10_000)
def _query_stems(query: str) -> tuple[str, ...]:
    return tuple(_stemmer().stemWords(_words(query)))


@lru_cache(maxsize=50_000)
def _stems(text: str) -> frozenset[str]:
    stem = _stemmer().stemWord
    return frozenset(stem(w) for w in _WORD.findall(text.lower()))


class QueryTerms:
    """A query's words, split and stemmed once, to find in many capability texts."""

    def __init__(self, query: str):
        words = list(dict.fromkeys(_words(query)))  # once each, in query order
        self._pairs = list(zip(words, _stemmer().stemWords(words)))

    def found_in(self, text: str) -> list[str]:
        """The query words whose stems occur in ``text``, in query order."""
        text_stems = _stems(text)
        return [word for word, stem in self._pairs if stem in text_stems]


def held_by(positions: np.ndarray, holders: np.ndarray) -> np.ndarray:
    """Which ``positions`` are in ``holders`` (sorted, as a posting list is): a binary search
    each, with no sorting of either side."""
    if not len(holders):
        return np.zeros(len(positions), dtype=bool)
    at = np.searchsorted(holders, positions).clip(max=len(holders) - 1)
    return np.asarray(holders[at] == positions)


def held_by_any(positions: np.ndarray, lists: tuple[np.ndarray, ...]) -> np.ndarray:
    """Which ``positions`` are in any of ``lists`` (each sorted)."""
    held = np.zeros(len(positions), dtype=bool)
    for holders in lists:
        if len(holders):
            held |= held_by(positions, holders)
    return held


@dataclass(frozen=True)
class TermMatch:
    """A query's distinct stems, how informative each is (BM25's idf; a stem no document has
    gets the largest), and which document positions hold each: one or more sorted lists (the
    stem's own, and one per synonym spelling), never merged. Merging them for a need with
    many synonyms took 100 ms at 100k capabilities (np.union1d on long posting lists), where
    testing the few candidate positions against each list takes microseconds."""

    stems: tuple[str, ...]
    idf: np.ndarray
    holders: tuple[tuple[np.ndarray, ...], ...]

    def with_spelling(self, stem: str, docs: np.ndarray) -> TermMatch:
        """This match with ``docs`` (sorted) also holding ``stem``."""
        i = self.stems.index(stem)
        holders = self.holders[:i] + (self.holders[i] + (docs,),) + self.holders[i + 1 :]
        return TermMatch(self.stems, self.idf, holders)

    def coverage(self, positions: np.ndarray) -> np.ndarray:
        """Per position: the idf-weighted share of the query's stems its document holds, 0..1."""
        total = float(self.idf.sum())
        out = np.zeros(len(positions), dtype=np.float32)
        if total <= 0 or not len(positions):
            return out
        for weight, lists in zip(self.idf, self.holders):
            out += weight * held_by_any(positions, lists)
        return out / total

    def union_coverage_of(self, flat: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Per group ``flat[starts[i]:starts[i + 1]]`` (each non-empty): the share of the query's
        stems any of its positions holds. One membership test per stem over all groups at once,
        then an "any" per group."""
        total = float(self.idf.sum())
        if total <= 0 or not len(starts):
            return np.zeros(len(starts), dtype=np.float32)
        held = np.zeros((len(flat), len(self.idf)), dtype=bool)
        for j, lists in enumerate(self.holders):
            held[:, j] = held_by_any(flat, lists)
        per_group = np.logical_or.reduceat(held, starts, axis=0)
        return (np.where(per_group, self.idf, 0.0).sum(axis=1) / total).astype(np.float32)


class LexicalIndex:
    def __init__(self, retriever: bm25s.BM25, documents: int | None = None):
        """``documents`` is given for an index with no words at all (an empty catalog, or one
        whose texts are only stop words): bm25s cannot hold one, so it answers nothing."""
        self.retriever = retriever
        self.vocab: dict[str, int] = getattr(retriever, "vocab_dict", None) or {}
        self._documents = documents
        self._phrase_holders: dict[str, np.ndarray] = {}

    @classmethod
    def build(cls, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        retriever = bm25s.BM25(k1=k1, b=b)
        if any(_words(t) for t in texts):
            tokens = bm25s.tokenize(
                list(texts), stopwords="en", stemmer=_stemmer(), show_progress=False
            )
            retriever.index(tokens, show_progress=False)
            return cls(retriever)
        return cls(retriever, documents=len(texts))

    @property
    def size(self) -> int:
        if self._documents is not None:
            return self._documents
        return int(getattr(self.retriever, "scores", {}).get("num_docs", 0))

    def match(self, query: str) -> TermMatch:
        stems = tuple(dict.fromkeys(query_tokens(query)))
        n = max(self.size, 1)
        scores = getattr(self.retriever, "scores", {})
        indptr, indices = scores.get("indptr"), scores.get("indices")
        idf, holders = [], []
        for stem in stems:
            token = self.vocab.get(stem)
            if token is None or indptr is None or indices is None:
                docs = np.zeros(0, dtype=np.int64)
            else:
                docs = np.asarray(indices[indptr[token] : indptr[token + 1]])
            df = len(docs)
            idf.append(math.log(1 + (n - df + 0.5) / (df + 0.5)))
            holders.append((docs,))
        return TermMatch(stems, np.array(idf, dtype=np.float32), tuple(holders))

    def holders_of_all(self, phrase: str) -> np.ndarray:
        """The positions (sorted) whose text holds every stem of ``phrase``; kept per phrase, as
        the phrases asked are the few spellings of the synonyms table."""
        cached = self._phrase_holders.get(phrase)
        if cached is None:
            match = self.match(phrase)
            own = [lists[0] for lists in match.holders]  # a fresh match: one list per stem
            cached = own[0] if own else np.zeros(0, dtype=np.int64)
            for more in own[1:]:
                cached = np.intersect1d(cached, more, assume_unique=True)
            if len(self._phrase_holders) < 10_000:
                self._phrase_holders[phrase] = cached
        return cached

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document (position order) for one query."""
        tokens = [t for t in query_tokens(query) if t in self.vocab]
        if not tokens or self._documents is not None or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)

    def search(
        self, query: str, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, positions) with a positive score, best first."""
        scores = self.scores(query)
        if mask is not None and len(scores):
            scores = np.where(mask, scores, 0.0)
        positive = np.flatnonzero(scores > 0)
        top = positive[np.argpartition(-scores[positive], k - 1)[:k]] if len(positive) > k else positive
        order = top[np.argsort(-scores[top], kind="stable")]
        return scores[order], order

    def save(self, directory: Path) -> None:
        if self._documents is not None:
            (directory / LEXICAL_DIR).mkdir()
            (directory / LEXICAL_DIR / EMPTY).write_text(json.dumps({"documents": self._documents}))
            return
        self.retriever.save(str(directory / LEXICAL_DIR), allow_pickle=False, show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        empty = directory / LEXICAL_DIR / EMPTY
        if empty.exists():
            return cls(bm25s.BM25(), documents=int(json.loads(empty.read_text())["documents"]))
        return cls(bm25s.BM25.load(str(directory / LEXICAL_DIR), mmap=False, allow_pickle=False))
