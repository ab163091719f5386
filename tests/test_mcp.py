"""The MCP server through the SDK's own client, over stdio: `matchgraph mcp` spawned for real."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import anyio
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.settings import Settings

TOOLS = {"search_capabilities", "resolve_capability", "compare", "alternatives", "artifact_passport",
         "report_outcome"}


def test_every_tool_over_stdio_with_structured_results(indexed_state: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    shutil.copytree(indexed_state, state)
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "matchgraph.api.cli.main", "mcp"],
        env={**os.environ, "MATCHGRAPH_DATA_DIR": str(state), "MATCHGRAPH_WRITER_FLUSH_SECONDS": "0.05"},
    )

    async def session() -> dict[str, object]:
        async with Client(params, read_timeout_seconds=120) as client:
            listed = await client.list_tools()
            got: dict[str, object] = {"tools": {t.name: t for t in listed.tools}}
            search = await client.call_tool("search_capabilities", {"query": "transcribe audio to text"})
            got["search"] = search
            resolved = await client.call_tool("resolve_capability", {"intent": "turn a podcast into text"})
            got["resolve"] = resolved
            got["compare"] = await client.call_tool("compare", {"a": "speechy", "b": "pixel-forge"})
            got["alternatives"] = await client.call_tool("alternatives", {"slug": "speechy"})
            got["passport"] = await client.call_tool("artifact_passport", {"slug": "speechy"})
            got["missing"] = await client.call_tool("artifact_passport", {"slug": "no-such-thing"})
            resolve_id = resolved.structured_content["resolve_id"]  # type: ignore[index]
            got["feedback"] = await client.call_tool(
                "report_outcome", {"reference": resolve_id, "artifact": "speechy", "outcome": "succeeded"})
            page = await client.read_resource("matchgraph://artifacts/speechy")
            got["page"] = page
            return got

    got = anyio.run(session)
    tools = got["tools"]
    assert set(tools) >= TOOLS  # type: ignore[arg-type]
    assert all(tools[name].description and tools[name].output_schema for name in TOOLS)  # type: ignore[index]
    search = got["search"].structured_content  # type: ignore[attr-defined]
    assert search["items"][0]["artifact"]["slug"] == "speechy"
    assert got["resolve"].structured_content["artifact"]["slug"] == "speechy"  # type: ignore[attr-defined]
    assert "do different jobs" in got["compare"].structured_content["verdict"]  # type: ignore[attr-defined]
    assert got["passport"].structured_content["artifact"]["slug"] == "speechy"  # type: ignore[attr-defined]
    assert got["missing"].is_error  # type: ignore[attr-defined]
    assert got["feedback"].structured_content == {"counted": True}  # type: ignore[attr-defined]
    assert "Speechy" in got["page"].contents[0].text  # type: ignore[attr-defined]
    with Matchgraph(Settings(data_dir=state), record=False) as mg:  # what the agent did is evidence
        sources = {row[0] for row in mg.stores.database.db.execute(  # type: ignore[attr-defined]
            "SELECT DISTINCT source FROM searches")}
        assert sources == {"mcp"} and mg.stores.evidence.feedback_count() == 1


def test_mcp_over_http_behind_keys_and_scopes(indexed_state: Path, tmp_path: Path) -> None:
    import httpx
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    from matchgraph.engine.access.keys import Scope

    from . import servers

    state = tmp_path / "state"
    shutil.copytree(indexed_state, state)
    with Matchgraph(Settings(data_dir=state), record=False) as mg:
        reader = mg.create_key("agent", [Scope.read]).secret
        reporter = mg.create_key("agent with feedback", [Scope.read, Scope.feedback]).secret
        writer_only = mg.create_key("no read", [Scope.feedback]).secret
    with servers.running_server(state, {"MATCHGRAPH_ANON_RATE_PER_MINUTE": "0"}) as server:
        url = f"{server.base}/mcp/"
        hello = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        assert httpx.post(url, json=hello).status_code == 401
        no_read = {"Authorization": f"Bearer {writer_only}"}
        assert httpx.post(url, json=hello, headers=no_read).status_code == 403

        async def session(key: str) -> tuple[object, object, object]:
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60)
            async with Client(streamable_http_client(url, http_client=http)) as client:
                tools = await client.list_tools()
                found = await client.call_tool("search_capabilities", {"query": "transcribe audio to text"})
                reported = await client.call_tool("report_outcome", {
                    "reference": found.structured_content["search_id"],  # type: ignore[index]
                    "artifact": "speechy", "outcome": "helpful"})
                return tools, found, reported

        tools, found, reported = anyio.run(session, reader)
        assert {t.name for t in tools.tools} >= TOOLS  # type: ignore[attr-defined]
        assert found.structured_content["items"][0]["artifact"]["slug"] == "speechy"  # type: ignore[attr-defined]
        assert reported.is_error  # type: ignore[attr-defined]  # read scope only
        _, _, reported = anyio.run(session, reporter)
        assert reported.structured_content == {"counted": True}  # type: ignore[attr-defined]
    with Matchgraph(Settings(data_dir=state), record=False) as mg:
        clients = {row[0] for row in mg.stores.database.db.execute(  # type: ignore[attr-defined]
            "SELECT DISTINCT client_hash FROM searches WHERE source = 'mcp'")}
        assert len(clients) == 2  # one per key: the verified client, not a header the agent wrote
