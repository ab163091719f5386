"""Lexical retrieval: BM25 (bm25s) over the same capability texts the dense index holds.

Text is lower-cased, split into word tokens, stripped of English stop words and
stemmed (Snowball). User text is only ever tokenised, never parsed as a query
language, so nothing in it can act as syntax.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

LEXICAL_DIR = "lexical"
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
    Snowball stems), as the indexed texts were split.

    bm25s.tokenize builds a vocabulary and three progress bars (even hidden ones) per call,
    about a twentieth of the event loop's time per search under load; one query needs none of it.
    """
    return list(_stemmer().stemWords(_words(query)))


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


class LexicalIndex:
    def __init__(self, retriever: bm25s.BM25):
        self.retriever = retriever
        self.vocab = retriever.vocab_dict

    @classmethod
    def build(cls, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        retriever = bm25s.BM25(k1=k1, b=b)
        if texts:
            tokens = bm25s.tokenize(
                list(texts), stopwords="en", stemmer=_stemmer(), show_progress=False
            )
            retriever.index(tokens, show_progress=False)
        return cls(retriever)

    @property
    def size(self) -> int:
        return int(getattr(self.retriever, "scores", {}).get("num_docs", 0))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document (position order) for one query."""
        tokens = [t for t in query_tokens(query) if t in self.vocab]
        if not tokens or self.size == 0:
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
        self.retriever.save(str(directory / LEXICAL_DIR), allow_pickle=False, show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        return cls(bm25s.BM25.load(str(directory / LEXICAL_DIR), mmap=False, allow_pickle=False))
