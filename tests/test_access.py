from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from matchgraph.api.access import TokenBuckets
from matchgraph.api.app import create_app
from matchgraph.engine.access.keys import Scope
from matchgraph.engine.settings import Settings
from matchgraph.index.lock import JobLock


def make_client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


@pytest.fixture
def client(indexed_settings: Settings) -> Iterator[TestClient]:
    with make_client(indexed_settings) as c:
        yield c


def key(client: TestClient, *scopes: Scope) -> str:
    engine = client.app.state.matchgraph  # type: ignore[attr-defined]
    return engine.create_key("test", list(scopes)).secret


MANIFEST = {"slug": "new-tool", "name": "New Tool", "type": "cli", "capabilities": [
    {"key": "run", "name": "Runs things", "description": "Runs a thing from the terminal."}]}


def test_bad_keys_are_401_never_500(client: TestClient) -> None:
    for headers in ({"Authorization": "Bearer nonsense"}, {"X-API-Key": "mg_deadbeef_nope"},
                    {"Authorization": "Bearer "}, {"X-API-Key": "mg__"}):
        r = client.get("/v1/search", params={"q": "speech"}, headers=headers)
        assert r.status_code in (200, 401), headers  # an empty bearer is no key at all
        if r.status_code == 401:
            assert r.json()["detail"] and r.headers["www-authenticate"] == "Bearer"
    good = key(client, Scope.read)
    assert client.get("/v1/search", params={"q": "speech"}, headers={"X-API-Key": good}).status_code == 200
    assert client.get("/v1/search", params={"q": "speech"},
                      headers={"Authorization": f"Bearer {good}"}).status_code == 200


def test_writes_need_the_right_scope(client: TestClient) -> None:
    assert client.post("/v1/admin/ingest", json=[MANIFEST]).status_code == 401
    reader = {"X-API-Key": key(client, Scope.read)}
    assert client.post("/v1/admin/ingest", json=[MANIFEST], headers=reader).status_code == 403
    writer = {"X-API-Key": key(client, Scope.write)}
    r = client.post("/v1/admin/ingest", json=[MANIFEST], headers=writer)
    assert r.status_code == 200 and r.json()["new"] == ["new-tool"]
    r = client.post("/v1/admin/reindex", headers=writer)
    assert r.status_code == 200 and r.json()["outcome"] == "ok" and r.json()["embedded"] == 1
    assert client.post("/v1/admin/keys", json={"name": "x"}, headers=writer).status_code == 403


def test_http_ingest_is_all_or_nothing(client: TestClient) -> None:
    writer = {"X-API-Key": key(client, Scope.write)}
    bad = {**MANIFEST, "slug": "other", "type": "spaceship"}
    r = client.post("/v1/admin/ingest", json=[MANIFEST, bad], headers=writer)
    assert r.status_code == 422 and "nothing was written" in r.json()["detail"]
    assert client.get("/v1/artifacts/new-tool").status_code == 404
    r = client.post("/v1/admin/ingest", params={"skip_invalid": True}, json=[MANIFEST, bad], headers=writer)
    assert r.json()["new"] == ["new-tool"] and r.json()["rejected"][0]["field"] == "type"


def test_reindex_while_another_job_runs_is_409(client: TestClient, indexed_settings: Settings) -> None:
    writer = {"X-API-Key": key(client, Scope.write)}
    with JobLock(indexed_settings.index_root):
        r = client.post("/v1/admin/reindex", headers=writer)
    assert r.status_code == 409 and "another index job" in r.json()["detail"]


def test_key_admin_over_http_and_revocation(client: TestClient, indexed_settings: Settings) -> None:
    admin = {"X-API-Key": key(client, Scope.admin)}
    r = client.post("/v1/admin/keys", json={"name": "partner", "scopes": ["read", "feedback"]}, headers=admin)
    assert r.status_code == 201
    issued = r.json()
    assert issued["key"].startswith(f"mg_{issued['key_id']}_") and issued["scopes"] == ["feedback", "read"]
    listed = client.get("/v1/admin/keys", headers=admin).json()
    assert all(k["key"] is None for k in listed)
    raw = indexed_settings.db_path.read_bytes() + indexed_settings.db_path.with_suffix(".db-wal").read_bytes()
    assert issued["key"].split("_", 2)[2].encode() not in raw  # only the hash is stored
    partner = {"X-API-Key": issued["key"]}
    assert client.get("/v1/search", params={"q": "speech"}, headers=partner).status_code == 200
    assert client.delete(f"/v1/admin/keys/{issued['key_id']}", headers=admin).json()["revoked_at"]
    r = client.get("/v1/search", params={"q": "speech"}, headers=partner)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_feedback_scope(client: TestClient) -> None:
    sid = client.get("/v1/search", params={"q": "transcribe audio", "limit": 1}).json()["search_id"]
    body = {"search_id": sid, "artifact": "speechy", "outcome": "helpful"}
    reader = {"X-API-Key": key(client, Scope.read)}
    assert client.post("/v1/feedback", json=body, headers=reader).status_code == 403
    giver = {"X-API-Key": key(client, Scope.feedback)}
    assert client.post("/v1/feedback", json=body, headers=giver).json() == {"counted": True}


def test_anonymous_feedback_can_be_turned_off(indexed_settings: Settings) -> None:
    with make_client(indexed_settings.changed(anonymous_feedback=False)) as c:
        sid = c.get("/v1/search", params={"q": "transcribe audio", "limit": 1}).json()["search_id"]
        r = c.post("/v1/feedback", json={"search_id": sid, "artifact": "speechy", "outcome": "helpful"})
        assert r.status_code == 401


def test_rate_limits_per_address_and_per_key(indexed_settings: Settings) -> None:
    settings = indexed_settings.changed(anon_rate_per_minute=5, key_rate_per_minute=8)
    with make_client(settings) as c:
        codes = [c.get("/v1/search", params={"q": "speech"}).status_code for _ in range(7)]
        assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
        r = c.get("/v1/search", params={"q": "speech"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert c.get("/healthz").status_code == 200  # health checks are never limited
        keyed = {"X-API-Key": key(c, Scope.read)}
        codes = [c.get("/v1/search", params={"q": "speech"}, headers=keyed).status_code for _ in range(9)]
        assert codes.count(200) == 8 and codes[-1] == 429


def test_token_buckets_refill_over_time() -> None:
    now = [0.0]
    buckets = TokenBuckets(clock=lambda: now[0])
    assert [buckets.take("a", 60) for _ in range(60)] == [0.0] * 60
    assert buckets.take("a", 60) == pytest.approx(1.0)
    now[0] += 2.0
    assert buckets.take("a", 60) == 0.0 and buckets.take("b", 60) == 0.0
    assert buckets.take("c", 0) == 0.0  # 0 means no limit


def test_oversized_bodies_are_413(indexed_settings: Settings) -> None:
    with make_client(indexed_settings.changed(max_body_bytes=200)) as c:
        r = c.post("/v1/resolve", json={"intent": "x" * 500})
        assert r.status_code == 413 and "200 bytes" in r.json()["detail"]
        assert c.post("/v1/resolve", json={"intent": "speech to text"}).status_code == 200


def test_cors_is_off_by_default_and_configurable(indexed_settings: Settings) -> None:
    preflight = {"Origin": "https://app.example.org", "Access-Control-Request-Method": "GET"}
    with make_client(indexed_settings) as c:
        r = c.options("/v1/search", headers=preflight)
        assert "access-control-allow-origin" not in r.headers
    with make_client(indexed_settings.changed(cors_origins=["https://app.example.org"])) as c:
        r = c.options("/v1/search", headers=preflight)
        assert r.headers["access-control-allow-origin"] == "https://app.example.org"


def test_security_headers_on_api_answers(client: TestClient) -> None:
    r = client.get("/v1/search", params={"q": "speech"})
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
