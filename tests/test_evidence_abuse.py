"""Evidence is only what the server can verify: each abuse that used to move "times matched",
feedback or suggested searches is reproduced here and must move nothing."""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from matchgraph.api.app import create_app
from matchgraph.engine.access.keys import Scope
from matchgraph.engine.access.salt import SALT_FILE
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.settings import Settings

QUERY = "transcribe audio to text"


@pytest.fixture
def client(indexed_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(indexed_settings)) as c:
        yield c


def engine_of(client: TestClient) -> Matchgraph:
    mg: Matchgraph = client.app.state.matchgraph  # type: ignore[attr-defined]
    return mg


def times_matched(client: TestClient, slug: str) -> int:
    mg = engine_of(client)
    mg.flush_matches()
    return mg.records.artifact(slug).times_matched


def test_rotating_x_client_id_from_one_address_is_one_client(client: TestClient) -> None:
    before = times_matched(client, "speechy")
    for i in range(30):
        r = client.get("/v1/search", params={"q": QUERY}, headers={"X-Client-Id": f"sock-{i}"})
        assert r.status_code == 200 and r.json()["items"][0]["artifact"]["slug"] == "speechy"
    assert times_matched(client, "speechy") == before + 1


def test_feedback_counts_once_per_client_search_and_artifact_latest_wins(client: TestClient) -> None:
    search_id = client.get("/v1/search", params={"q": QUERY}).json()["search_id"]
    mg = engine_of(client)
    counted = []
    for outcome in ("selected", "helpful", "succeeded", "failed"):
        for capability in (None, "speechy/transcription", "speechy/streaming"):
            for sock in ("a", "b", "c"):
                body = {"search_id": search_id, "artifact": "speechy", "outcome": outcome}
                if capability:
                    body["capability"] = capability
                r = client.post("/v1/feedback", json=body, headers={"X-Client-Id": sock})
                assert r.status_code == 200, r.text
                counted.append(r.json()["counted"])
    assert counted.count(True) == 1
    rows = mg.stores.database.db.execute(  # type: ignore[attr-defined]
        "SELECT outcome FROM feedback WHERE search_id = ?", [search_id]).fetchall()
    assert rows == [("failed",)]  # the latest outcome, once


def test_spam_from_one_client_is_never_a_suggested_search(indexed_settings: Settings) -> None:
    spam = "cheap pills speechy transcribe audio best price"
    settings = indexed_settings.changed(trust_forwarded_for=True)
    with TestClient(create_app(settings)) as c:
        for i in range(15):
            c.get("/v1/search", params={"q": spam}, headers={"X-Client-Id": f"bot-{i}"})
        engine_of(c).flush_matches()
        engine_of(c).rank()
        shown = [s["query"] for s in c.get("/v1/artifacts/speechy/alternatives").json()["suggested_searches"]]
        assert spam not in shown
        for i in range(3):  # three people behind the deployment's proxy ask the same
            c.get("/v1/search", params={"q": QUERY}, headers={"X-Forwarded-For": f"10.2.0.{i}"})
        engine_of(c).flush_matches()
        engine_of(c).rank()
        shown = [s["query"] for s in c.get("/v1/artifacts/speechy/alternatives").json()["suggested_searches"]]
        assert QUERY in shown and spam not in shown


def test_forwarded_for_is_read_from_the_proxy_end_only(indexed_settings: Settings) -> None:
    settings = indexed_settings.changed(trust_forwarded_for=True)
    with TestClient(create_app(settings)) as c:
        before = times_matched(c, "speechy")
        for i in range(10):  # the client writes the first hops; the proxy appends the address it saw
            c.get("/v1/search", params={"q": QUERY}, headers={"X-Forwarded-For": f"1.2.3.{i}, 10.3.0.1"})
        assert times_matched(c, "speechy") == before + 1


def test_x_client_id_subdivides_only_within_a_key(client: TestClient) -> None:
    secret = engine_of(client).create_key("app", [Scope.read]).secret
    before = times_matched(client, "speechy")
    for user in ("alice", "bob"):
        client.get("/v1/search", params={"q": QUERY},
                   headers={"Authorization": f"Bearer {secret}", "X-Client-Id": user})
    assert times_matched(client, "speechy") == before + 2


def test_each_deployment_has_its_own_secret_salt(tmp_path: Path) -> None:
    hashes = []
    for name in ("one", "two"):
        state = tmp_path / name
        with Matchgraph(Settings(data_dir=state), record=False) as mg:
            salt = mg.client_salt
            assert len(salt) == 64 and salt != "matchgraph"
            assert stat.S_IMODE((state / SALT_FILE).stat().st_mode) == 0o600
        with Matchgraph(Settings(data_dir=state), record=False) as again:
            assert again.client_salt == salt  # kept with the state
        hashes.append(hashlib.sha256(f"{salt}:ip:10.0.0.1".encode()).hexdigest())
    assert hashes[0] != hashes[1]
    assert hashlib.sha256(b"matchgraph:ip:10.0.0.1").hexdigest() not in hashes
