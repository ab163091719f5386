from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from matchgraph.api.app import create_app
from matchgraph.engine.settings import Settings


@pytest.fixture
def client(indexed_settings: Settings) -> Iterator[TestClient]:
    # as if behind the deployment's own proxy: each search comes from its own address
    with TestClient(create_app(indexed_settings.changed(trust_forwarded_for=True))) as c:
        # a search is suggested once three distinct clients asked it
        for i, q in enumerate(["transcribe audio to text", "speech recognition for calls",
                               "run an LLM locally", "vector database for RAG",
                               "transcribe audio to text", "transcribe audio to text"]):
            c.get("/v1/search", params={"q": q, "limit": 3}, headers={"X-Forwarded-For": f"10.0.0.{i}"})
        c.app.state.matchgraph.rank()  # type: ignore[attr-defined]
        yield c


def test_compare_has_the_seed_rows_alignment_verdict_and_alternatives(client: TestClient) -> None:
    r = client.get("/v1/compare/speechy/pixel-forge")
    assert r.status_code == 200
    body = r.json()
    assert body["title"] == "Speechy vs Pixel Forge"
    assert [row["label"] for row in body["table"]] == [
        "Type", "Score", "Adoption", "Quality", "Ecosystem", "Match Graph", "Freshness", "Pricing",
        "Starting Price", "Capabilities", "Times Matched",
    ]
    prices = next(row for row in body["table"] if row["label"] == "Starting Price")
    assert prices == {"label": "Starting Price", "a": "$0.006 per minute", "b": "$0.04 per image"}
    # speech to text against text to image: no winner by score, the verdict says why
    assert "/100" in body["verdict"] and "do different jobs" in body["verdict"]
    assert "scores higher" not in body["verdict"] and body["aligned"] == []
    assert {a["artifact"]["slug"] for a in body["alternatives"]}.isdisjoint({"speechy", "pixel-forge"})
    assert all(a["reason"] for a in body["alternatives"])
    assert len(body["a"]["capabilities"]) == 2 and body["a"]["score"]["parts"]["quality"]["note"]


def test_compare_errors(client: TestClient) -> None:
    assert client.get("/v1/compare/speechy/nope").status_code == 404
    assert client.get("/v1/compare/speechy/speechy").status_code == 422


def test_alternatives_and_suggested_searches(client: TestClient) -> None:
    body = client.get("/v1/artifacts/speechy/alternatives", params={"limit": 3}).json()
    assert 0 < len(body["items"]) <= 3
    assert "speechy" not in {i["artifact"]["slug"] for i in body["items"]}
    assert "transcribe audio to text" in {s["query"] for s in body["suggested_searches"]}


def test_graph_neighbours_by_kind(client: TestClient) -> None:
    body = client.get("/v1/graph/speechy").json()
    neighbours = body["substitutes"] + body["complements"]
    assert neighbours and all(n["co_searches"] >= 1 for n in neighbours)
    assert client.get("/v1/graph/nope").status_code == 404


def test_score_endpoint_has_parts_with_evidence(client: TestClient) -> None:
    body = client.get("/v1/artifacts/speechy/score").json()
    parts = body["score"]["parts"]
    assert set(parts) == {"adoption", "quality", "ecosystem", "match_graph", "freshness"}
    assert all(0 <= p["low"] <= p["value"] <= p["high"] <= 1 for p in parts.values())
    # serve ranked at start (no scores yet), the fixture ranked again after its searches
    assert len(body["history"]) == 2 and body["history"][-1][1] == body["score"]["score"]


def test_resolve_then_feedback(client: TestClient) -> None:
    r = client.post("/v1/resolve", json={"intent": "turn a podcast recording into text"})
    assert r.status_code == 200
    body = r.json()
    assert body["artifact"]["slug"] == "speechy" and body["capability"].startswith("speechy/")
    assert 0 < body["confidence"] <= 1 and body["why"]
    fb = {"resolve_id": body["resolve_id"], "artifact": "speechy", "outcome": "succeeded"}
    assert client.post("/v1/feedback", json=fb).json() == {"counted": True}
    assert client.post("/v1/feedback", json=fb).json() == {"counted": False}  # once per client
    rotated = client.post("/v1/feedback", json=fb, headers={"X-Client-Id": "someone-else"})
    assert rotated.json() == {"counted": False}  # a header the client writes is not an identity
    other = client.post("/v1/feedback", json=fb, headers={"X-Forwarded-For": "10.9.9.9"})
    assert other.json() == {"counted": True}


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"artifact": "speechy", "outcome": "helpful"}, 422),  # no reference
        ({"search_id": "x", "resolve_id": "y", "artifact": "speechy", "outcome": "helpful"}, 422),
        ({"search_id": "nope", "artifact": "speechy", "outcome": "helpful"}, 404),
        ({"search_id": "REF", "artifact": "speechy", "outcome": "loved"}, 422),
        ({"search_id": "REF", "artifact": "vecstore", "outcome": "helpful"}, 422),  # not returned
        ({"search_id": "REF", "artifact": "speechy", "capability": "nope", "outcome": "failed"}, 404),
    ],
)
def test_feedback_must_be_about_what_was_returned(
    client: TestClient, payload: dict[str, str], status: int
) -> None:
    ref = client.get("/v1/search", params={"q": "transcribe audio", "limit": 1}).json()["search_id"]
    body = {k: (ref if v == "REF" else v) for k, v in payload.items()}
    r = client.post("/v1/feedback", json=body)
    assert r.status_code == status, r.text
    assert r.json()["detail"]


def test_resolve_rejects_bad_intents(client: TestClient) -> None:
    assert client.post("/v1/resolve", json={"intent": " "}).status_code == 422
    assert client.post("/v1/resolve", json={"intent": "x" * 600}).status_code == 422
    assert client.post("/v1/resolve", json={"intent": "ok intent", "limit": 0}).status_code == 422
