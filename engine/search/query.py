"""Query validation and normalisation. Everything a user types passes through here first."""

from __future__ import annotations

import re
import unicodedata

from matchgraph.engine.errors import InvalidQuery

_SPACE = re.compile(r"\s+")


def clean_query(text: str, min_chars: int = 2, max_chars: int = 500) -> str:
    """Trim and fold white space; reject what cannot be a need written by a person.

    Control characters (other than ordinary white space) are refused rather than silently
    dropped, so a caller learns its input was mangled; invisible format characters (U+202E,
    U+200B …) are dropped, so that what is stored and shown is what a reader sees.
    """
    if not isinstance(text, str):
        raise InvalidQuery("the query must be text")
    # invisible format characters (bidi overrides, zero-width spaces and joiners) are dropped here,
    # the one boundary every entry point (API, pages, CLI, MCP) goes through
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    if len(text) > max_chars * 4:
        raise InvalidQuery(f"the query is {len(text)} characters long; at most {max_chars} are allowed")
    for ch in text:
        if unicodedata.category(ch) in {"Cc", "Cs", "Co", "Cn"} and not ch.isspace():
            raise InvalidQuery(
                f"the query contains a control or unassigned character (U+{ord(ch):04X}); "
                "send plain text"
            )
    cleaned = _SPACE.sub(" ", text).strip()
    if len(cleaned) < min_chars:
        raise InvalidQuery(f"the query must have at least {min_chars} characters after trimming")
    if len(cleaned) > max_chars:
        raise InvalidQuery(
            f"the query is {len(cleaned)} characters long; at most {max_chars} are allowed"
        )
    return cleaned


def normalize_query(cleaned: str) -> str:
    """The form used to count repeats of the same need: NFKC, case-folded, single spaces."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", cleaned).casefold()).strip()


_TRAILING = re.compile(r"[\s.!?;:,\u2026]+$")


def model_text(cleaned: str) -> str:
    """What the model embeds: the need without the punctuation that ends it. A trailing full
    stop moved a need's vector by a cosine of 0.89 with all-MiniLM-L6-v2, enough to turn
    "run an open language model on my own computer." toward translation models; whether a
    person ends a need with a full stop says nothing about what it asks for."""
    return _TRAILING.sub("", cleaned) or cleaned
