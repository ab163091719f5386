from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from matchgraph.api.app import create_app
from matchgraph.engine.settings import Settings


@pytest.fixture
def client(indexed_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(indexed_settings)) as c:
        yield c


def test_search_answers_with_grouped_explained_hits(client: TestClient) -> None:
    r = client.get("/v1/search", params={"q": "transcribe audio to text", "limit": 2})
    assert r.status_code == 200
    body = r.json()
    assert body["items"][0]["artifact"]["slug"] == "speechy"
    assert body["items"][0]["matches"][0]["id"] == "speechy/transcription"
    assert "transcribe" in body["items"][0]["matches"][0]["matched_terms"]
    assert len(body["items"]) == 2 and body["total"] >= 2 and body["search_id"]


def test_search_filters_over_http(client: TestClient) -> None:
    r = client.get("/v1/search", params=[("q", "local model"), ("type", "mcp"), ("type", "api")])
    assert {i["artifact"]["type"] for i in r.json()["items"]} <= {"mcp", "api"}
    r = client.get("/v1/search", params={"q": "local model", "free": "false"})
    assert [i["artifact"]["slug"] for i in r.json()["items"]] == ["speechy"]
    r = client.get("/v1/search", params={"q": "local model", "category": "rag"})
    assert [i["artifact"]["slug"] for i in r.json()["items"]] == ["vecstore"]


@pytest.mark.parametrize(
    "params",
    [
        {"q": ""},
        {"q": " "},
        {"q": "x" * 501},
        {"q": "x" * 10_240},
        {"q": "bad\x00byte"},
        {"q": "esc\x1b[31m"},
        {"q": "fine", "limit": 0},
        {"q": "fine", "limit": 51},
        {"q": "fine", "offset": -1},
        {"q": "fine", "type": "spaceship"},
        {"q": "fine", "free": "maybe"},
        {"q": "fine", "source": "<script>"},
        {},
    ],
)
def test_bad_input_is_a_4xx_with_a_reason(client: TestClient, params: dict[str, object]) -> None:
    r = client.get("/v1/search", params=params)
    assert r.status_code == 422
    assert r.json()["detail"]


def test_query_language_syntax_is_plain_text(client: TestClient) -> None:
    for q in ['"audio" OR NOT video*', "col:val AND (x OR y)", "NEAR(a, b)", "%' --"]:
        assert client.get("/v1/search", params={"q": q}).status_code == 200


def test_artifacts_pagination_and_detail(client: TestClient) -> None:
    page = client.get("/v1/artifacts", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 5 and len(page["items"]) == 2
    assert [i["slug"] for i in page["items"]] == ["pg-reader-mcp", "pixel-forge"]
    detail = client.get("/v1/artifacts/speechy").json()
    assert detail["pricing"]["starting_price"]["unit"] == "minute"
    assert [c["id"] for c in detail["capabilities"]] == ["speechy/transcription", "speechy/streaming"]


def test_times_matched_shows_up_in_the_api(client: TestClient) -> None:
    client.get("/v1/search", params={"q": "transcribe audio to text", "limit": 1})
    client.app.state.matchgraph.recorder.flush()  # type: ignore[attr-defined]
    cap = client.get("/v1/capabilities/speechy/transcription").json()
    assert cap["times_matched"] == 1 and cap["artifact"] == "speechy"
    assert client.get("/v1/artifacts/speechy").json()["times_matched"] == 1


def test_not_found_is_404(client: TestClient) -> None:
    assert client.get("/v1/artifacts/nope").status_code == 404
    r = client.get("/v1/capabilities/speechy/nope")
    assert r.status_code == 404 and "speechy/nope" in r.json()["detail"]


def test_healthz_reports_version_and_counts(client: TestClient) -> None:
    h = client.get("/healthz").json()
    assert h["status"] == "ok" and h["index_version"] and h["indexed_capabilities"] == 11
    assert h["artifacts"] == 5 and h["model"] == "all-MiniLM-L6-v2"


def test_openapi_is_published(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/search", "/v1/artifacts", "/v1/artifacts/{slug}", "/healthz"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200


def test_first_start_ingests_and_indexes_the_catalog(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from .conftest import FIXTURE_CATALOG

    settings = Settings(data_dir=tmp_path / "fresh", catalog_dir=FIXTURE_CATALOG)
    with TestClient(create_app(settings)) as c:
        assert c.get("/healthz").json()["artifacts"] == 5
        r = c.get("/v1/search", params={"q": "speech to text"})
        assert r.json()["items"][0]["artifact"]["slug"] == "speechy"


def test_the_manifest_format_is_served_as_json_schema(client: TestClient) -> None:
    schema = client.get("/v1/schema/manifest.json").json()
    assert {"slug", "name", "type", "capabilities"} <= set(schema["required"])
    assert "pricing" in schema["properties"]
