"""fetch_text over httpx.MockTransport: no test here touches the network."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from matchgraph.engine.catalog.fetch import fetch_text
from matchgraph.engine.errors import FetchFailed, MatchgraphError

Handler = Callable[[httpx.Request], httpx.Response]


def transport(handler: Handler) -> httpx.MockTransport:
    return httpx.MockTransport(handler)


def test_returns_the_body_as_text() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text='{"data": []}', headers={"content-type": "application/json"})

    assert fetch_text("https://api.example.org/models", transport=transport(handler)) == '{"data": []}'
    assert seen[0].headers["user-agent"].startswith("matchgraph")


def test_decodes_with_the_declared_charset() -> None:
    body = "Café crème".encode("latin-1")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "text/plain; charset=latin-1"})

    assert fetch_text("https://example.org/list.md", transport=transport(handler)) == "Café crème"


def test_follows_redirects() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(301, headers={"location": "https://example.org/new"})
        return httpx.Response(200, text="moved here")

    assert fetch_text("https://example.org/old", transport=transport(handler)) == "moved here"


def test_http_error_status_names_the_status() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="nope")

    with pytest.raises(FetchFailed, match=r"example\.org/missing: the server answered HTTP 404 Not Found"):
        fetch_text("https://example.org/missing", transport=transport(handler))


def test_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("the peer went quiet", request=request)

    with pytest.raises(FetchFailed, match="within 3 seconds"):
        fetch_text("https://slow.example.org/", timeout=3, transport=transport(handler))


def test_connection_error_is_a_named_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("name does not resolve", request=request)

    with pytest.raises(FetchFailed, match="ConnectError"):
        fetch_text("https://nowhere.example.org/", transport=transport(handler))


def test_too_large_by_declared_length() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 2048)

    with pytest.raises(FetchFailed, match="2048 bytes, over the 1000 bytes limit"):
        fetch_text("https://example.org/big", max_bytes=1000, transport=transport(handler))


def test_too_large_while_streaming_without_a_length() -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"y" * 100

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks())

    with pytest.raises(FetchFailed, match="over the 1000 bytes limit"):
        fetch_text("https://example.org/endless", max_bytes=1000, transport=transport(handler))


@pytest.mark.parametrize("url", ["ftp://example.org/file", "file:///etc/passwd", "example.org/models",
                                 "https://", "javascript:alert(1)"])
def test_only_http_urls(url: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:  # pragma: no cover - must not be called
        raise AssertionError("no request should be made")

    with pytest.raises(FetchFailed, match="only http:// and https:// URLs") as caught:
        fetch_text(url, transport=transport(handler))
    assert isinstance(caught.value, MatchgraphError)
