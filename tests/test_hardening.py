"""Hostile input from the outside review (issue 16): each case reproduced, each a clear 4xx."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from matchgraph.api.app import create_app
from matchgraph.engine.access.keys import Scope
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.search.query import clean_query
from matchgraph.engine.settings import Settings

JSON = {"content-type": "application/json"}


@pytest.fixture
def client(indexed_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(indexed_settings), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("path", ["/v1/resolve", "/v1/feedback", "/v1/admin/keys", "/v1/admin/ingest"])
@pytest.mark.parametrize("value", ['"\\ud800 lone surrogate"', "NaN", "Infinity", "-Infinity"])
def test_numbers_and_strings_json_cannot_echo_are_a_422(client: TestClient, path: str, value: str) -> None:
    engine: Matchgraph = client.app.state.matchgraph  # type: ignore[attr-defined]
    secret = engine.create_key("admin", [Scope.admin]).secret if path.startswith("/v1/admin") else None
    fields = ("intent", "search_id", "artifact", "name", "limit")
    body = "{" + ", ".join(f'"{f}": {value}' for f in fields) + ', "outcome": "helpful"}'
    headers = {**JSON, **({"Authorization": f"Bearer {secret}"} if secret else {})}
    r = client.post(path, content=body, headers=headers)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.json()["detail"]


def test_a_page_number_that_only_looks_like_a_digit_is_a_422(client: TestClient) -> None:
    r = client.get("/", params={"q": "llm", "page": "²"})
    assert r.status_code == 422 and "page must be a whole number" in r.text


@pytest.mark.parametrize("raw", ["speech\u202e to text", "speech\u200b to\u200d text",
                                 "\u2066speech to text\u2069"])
def test_invisible_format_characters_are_dropped_at_the_query_boundary(raw: str) -> None:
    assert clean_query(raw) == "speech to text"


def test_refusals_from_the_access_layer_carry_the_security_headers(client: TestClient) -> None:
    r = client.get("/v1/search", params={"q": "speech"}, headers={"Authorization": "Bearer mg_nope_nope"})
    assert r.status_code == 401
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["content-security-policy"]


def test_a_key_in_the_query_string_is_redacted_in_the_access_log() -> None:
    import logging

    from matchgraph.api.access import redact_credentials

    line = ("127.0.0.1:5", "GET", "/v1/search?q=x&api_key=mg_ab_SECRET", "1.1", 401)
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               line, None)
    assert redact_credentials(record)
    assert "SECRET" not in record.getMessage() and "api_key=[redacted]" in record.getMessage()


def test_links_come_from_the_configured_address_never_the_host_header(indexed_settings: Settings) -> None:
    settings = indexed_settings.changed(public_url="https://mg.example.org")
    with TestClient(create_app(settings)) as c:
        hostile = {"Host": "evil.example.com"}
        for path in ("/sitemap.xml", "/robots.txt", "/artifacts/speechy", "/agent/artifacts/speechy"):
            text = c.get(path, headers=hostile).text
            assert "evil.example.com" not in text, path
        assert "https://mg.example.org/artifacts/speechy" in c.get("/sitemap.xml").text


def test_a_damaged_index_file_while_serving_kills_nothing_and_health_says_so(
    indexed_state: Path, tmp_path: Path,
) -> None:
    import httpx

    from matchgraph.index.versions import current_version, versions_dir

    from . import servers

    state = tmp_path / "state"
    shutil.copytree(indexed_state, state)
    with servers.running_server(state, {"MATCHGRAPH_ANON_RATE_PER_MINUTE": "0"}) as server:
        assert httpx.get(f"{server.base}/healthz").json()["status"] == "ok"
        version = versions_dir(state / "index") / str(current_version(state / "index"))
        with (version / "vectors.npy").open("r+b") as fh:
            fh.truncate(4096)  # what `truncate -s 4096` does
        (version / "dense.faiss").unlink()
        for path in ("/artifacts/speechy", "/v1/compare/speechy/pixel-forge", "/v1/search?q=speech+to+text"):
            assert httpx.get(server.base + path).status_code == 200, path
        health = httpx.get(f"{server.base}/healthz")
        assert health.status_code == 503 and health.json()["status"] == "damaged"
        assert server.proc.poll() is None  # still alive


def test_idle_and_slow_connections_deny_no_one_and_are_closed(indexed_state: Path, tmp_path: Path) -> None:
    import socket
    import time
    from urllib.parse import urlsplit

    import httpx

    from . import servers

    state = tmp_path / "state"
    shutil.copytree(indexed_state, state)
    env = {"MATCHGRAPH_HEADER_TIMEOUT": "2", "MATCHGRAPH_ANON_RATE_PER_MINUTE": "0"}
    with servers.running_server(state, env) as server:
        address = urlsplit(server.base)
        sockets = [socket.create_connection((address.hostname, address.port), timeout=5) for _ in range(300)]
        for s in sockets[:30]:
            s.sendall(b"GET /v1/search?q=slow HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        try:
            started = time.monotonic()
            assert httpx.get(f"{server.base}/healthz", timeout=5).status_code == 200
            search = httpx.get(f"{server.base}/v1/search", params={"q": "speech to text"}, timeout=5)
            assert search.status_code == 200
            assert time.monotonic() - started < 5
            time.sleep(3)  # past the header deadline: the server has closed them all
            closed = 0
            for s in sockets:
                try:
                    closed += s.recv(1) == b""
                except (ConnectionResetError, TimeoutError):
                    closed += 1
            assert closed == len(sockets)
        finally:
            for s in sockets:
                s.close()


def test_guessing_api_keys_is_rate_limited(indexed_settings: Settings) -> None:
    with TestClient(create_app(indexed_settings.changed(anon_rate_per_minute=5))) as c:
        codes = [c.get("/v1/search", params={"q": "speech"}, headers={"Authorization": f"Bearer mg_x_{i}"})
                 .status_code for i in range(8)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 3
