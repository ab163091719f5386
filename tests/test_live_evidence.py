"""The evidence loop is live: a running server shows new searches in times matched, the match
graph and the scores within ``evidence_refresh_seconds``, without a restart or a re-index."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx

from . import servers

QUERIES = ["transcribe audio to text", "speech to text for my podcast", "turn voice notes into text"]


def test_searches_from_three_clients_show_in_graph_counts_and_score(indexed_state: Path,
                                                                     tmp_path: Path) -> None:
    state = tmp_path / "state"
    shutil.copytree(indexed_state, state)
    env = {"MATCHGRAPH_EVIDENCE_REFRESH_SECONDS": "1", "MATCHGRAPH_TRUST_FORWARDED_FOR": "true",
           "MATCHGRAPH_ANON_RATE_PER_MINUTE": "0", "MATCHGRAPH_WRITER_FLUSH_SECONDS": "0.1"}
    with servers.running_server(state, env) as server, httpx.Client(base_url=server.base) as http:
        def graph() -> list[dict[str, object]]:
            body = http.get("/v1/graph/speechy").json()
            return [*body["substitutes"], *body["complements"]]

        def matched() -> int:
            return int(http.get("/v1/artifacts/speechy").json()["times_matched"])

        def score() -> float:
            return float(http.get("/v1/artifacts/speechy/score").json()["score"]["score"])

        assert graph() == [] and matched() == 0
        before = score()
        for client in range(3):  # three people behind the deployment's proxy
            for q in QUERIES:
                r = http.get("/v1/search", params={"q": q, "limit": 5},
                             headers={"X-Forwarded-For": f"10.4.0.{client}"})
                assert r.status_code == 200 and r.json()["items"][0]["artifact"]["slug"] == "speechy"
        deadline = time.monotonic() + 10  # the refresh runs every second
        while time.monotonic() < deadline and not (graph() and matched() == 9 and score() != before):
            time.sleep(0.25)
        assert matched() == 9  # 3 clients x 3 needs, one unit each
        assert graph(), "no match-graph edges after the refresh"
        assert score() > before
