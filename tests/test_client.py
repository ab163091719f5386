"""The typed client against a real `matchgraph serve` on loopback, sync and async."""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
import pytest

from matchgraph.api.client import AsyncMatchgraphClient, MatchgraphAPIError, MatchgraphClient
from matchgraph.api.schemas.recommend import ComparisonOut, ResolveOut
from matchgraph.api.schemas.search import SearchPage

from . import servers


def test_every_call_returns_the_server_models(indexed_state: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    shutil.copytree(indexed_state, state)
    with servers.running_server(state, {"MATCHGRAPH_ANON_RATE_PER_MINUTE": "0"}) as server:
        with MatchgraphClient(server.base) as mg:
            page = mg.search("transcribe audio to text", limit=3)
            assert isinstance(page, SearchPage) and page.items[0].artifact.slug == "speechy"
            filtered = mg.search("transcribe audio to text", type=["model"])
            assert all(i.artifact.type == "model" for i in filtered.items)
            resolved = mg.resolve("turn a podcast into text")
            assert isinstance(resolved, ResolveOut) and resolved.artifact is not None
            assert mg.feedback(resolved.resolve_id, "speechy", "succeeded", resolve=True).counted
            assert isinstance(mg.compare("speechy", "pixel-forge"), ComparisonOut)
            assert mg.artifact("speechy").slug == "speechy"
            assert mg.alternatives("speechy").slug == "speechy"
            assert mg.score("speechy").slug == "speechy"
            assert mg.graph("speechy").slug == "speechy"
            with pytest.raises(MatchgraphAPIError) as missing:
                mg.artifact("no-such-thing")
            assert missing.value.status == 404 and "no-such-thing" in str(missing.value.detail)

        async def asking() -> SearchPage:
            async with AsyncMatchgraphClient(server.base) as amg:
                return await amg.search("run an LLM locally", limit=2)

        assert anyio.run(asking).items
