"""For agents: `matchgraph mcp`, the MCP server over stdio."""

from __future__ import annotations

from matchgraph.api.cli.common import engine, reported


def mcp() -> None:
    """Serve the MCP tools over stdio (for Claude Desktop, Claude Code, Cursor…); the first start
    ingests the bundled catalog and builds the index. Stdout carries the protocol only."""
    from matchgraph.api.mcp_server import build_server

    with engine() as mg:
        with reported():
            mg.ensure_ready()
        build_server(lambda: mg).run("stdio")
