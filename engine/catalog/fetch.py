"""Fetch a document over HTTP(S) for an importer, with a size limit and clear errors.

``fetch_text`` streams the body so that a huge or endless response is cut off at
``max_bytes`` instead of filling memory, follows redirects, and turns every failure into
:class:`engine.errors.FetchFailed` with the URL and the reason. The transport is
injectable, so tests use ``httpx.MockTransport`` and never touch the network.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from matchgraph.engine.errors import FetchFailed

DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
USER_AGENT = "matchgraph-importer/0.1"


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n} bytes"


def fetch_text(
    url: str,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    *,
    transport: httpx.BaseTransport | None = None,
) -> str:
    """The body of ``url`` decoded as text (charset from the response, else UTF-8)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        raise FetchFailed(f"{url}: only http:// and https:// URLs can be fetched")
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json, text/markdown, text/plain, */*"}
    try:
        with httpx.Client(transport=transport, timeout=timeout, follow_redirects=True,
                          headers=headers) as client, client.stream("GET", url) as response:
            if response.status_code >= 400:
                reason = response.reason_phrase or "error"
                raise FetchFailed(f"{url}: the server answered HTTP {response.status_code} {reason}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchFailed(
                    f"{url}: the response is {_size(int(declared))}, over the {_size(max_bytes)} limit"
                )
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise FetchFailed(f"{url}: the response is over the {_size(max_bytes)} limit")
            encoding = response.charset_encoding or "utf-8"
    except httpx.TimeoutException as exc:
        raise FetchFailed(f"{url}: no complete answer within {timeout:g} seconds") from exc
    except httpx.TooManyRedirects as exc:
        raise FetchFailed(f"{url}: too many redirects") from exc
    except httpx.HTTPError as exc:
        raise FetchFailed(f"{url}: {type(exc).__name__}: {exc}") from exc
    try:
        return bytes(body).decode(encoding, errors="replace")
    except LookupError:  # an unknown charset name
        return bytes(body).decode("utf-8", errors="replace")
