"""Helpers the importers share: slugs, URLs, dates, labels and capability keys.

Everything here is pure and deterministic. Where a source value cannot be understood the
helpers hand it on unchanged rather than guessing, so that validation rejects the record
and names the field instead of the importer silently inventing a value.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from matchgraph.engine.catalog.decompose import clip, slugify, unique_name

SLUG_MAX = 120
LABEL_MAX = 60


def make_slug(text: str, seen: set[str]) -> str:
    """A slug for ``text`` that matches the manifest pattern and is new within ``seen``."""
    base = slugify(text, dots=True, max_len=SLUG_MAX - 4)
    if not base:  # e.g. a name written only in a non-Latin script
        base = "item-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return unique_name(base, seen)


def unique_keys(capabilities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Make capability keys unique in order (a later duplicate gets ``-2``, ``-3``, ...)."""
    seen: set[str] = set()
    for cap in capabilities:
        cap["key"] = unique_name(slugify(str(cap.get("key", ""))) or "capability", seen)
    return capabilities


def http_url(value: Any) -> str | None:
    """``value`` when it is an http(s) URL, else None (empty strings and junk are dropped)."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value:
        return None
    if not re.match(r"^https?://", value, re.IGNORECASE) and re.match(r"^[\w.-]+\.[a-z]{2,}(/\S*)?$", value):
        value = "https://" + value  # GitHub 'homepage' fields often omit the scheme
    return value if re.match(r"^https?://\S+$", value) else None


def is_github(url: str | None) -> bool:
    return bool(url) and urlsplit(url or "").netloc.lower() in {"github.com", "www.github.com"}


def github_owner(url: str | None) -> str | None:
    if not is_github(url):
        return None
    parts = [p for p in urlsplit(url or "").path.split("/") if p]
    return parts[0] if parts else None


def date_from_unix(value: Any) -> Any:
    """An ISO date for a unix timestamp in seconds; other values pass through to validation."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC).date().isoformat()
    return value


def labels(values: Iterable[Any], limit: int = 20) -> list[str]:
    """Short, de-duplicated string labels in their original order."""
    out: list[str] = []
    for value in values:
        if isinstance(value, str) and value.strip():
            label = clip(value.strip(), LABEL_MAX)
            if label.lower() not in (o.lower() for o in out):
                out.append(label)
    return out[:limit]


def mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a dict, else an empty one (for optional nested objects)."""
    return value if isinstance(value, dict) else {}


def text_of(value: Any) -> str:
    """``value`` if it is a string, else ''."""
    return value if isinstance(value, str) else ""


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def prune(record: dict[str, Any]) -> dict[str, Any]:
    """Drop None values and empty lists/dicts so manifests stay small and stable."""
    return {k: v for k, v in record.items() if v is not None and v != [] and v != {}}
