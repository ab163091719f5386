"""matchgraph for agents: an MCP server (the official ``mcp`` SDK) over the same engine.

Each tool is a thin call into the façade that answers with the REST API's own models, so an
agent gets the same structured results (and the same "nothing fits" answer) a program gets from
``/v1``. Searches and resolves made here are recorded with source ``mcp``; the client is the
one the transport can vouch for (``mcp:stdio`` for the local process that started the server).

Run it with ``matchgraph mcp`` (stdio, for desktop and IDE clients); ``serve`` also mounts it
over streamable HTTP at ``/mcp/``, behind the same API keys and limits as ``/v1`` (there the
access middleware writes the verified client into ``CLIENT_HEADER``, replacing whatever the
request carried under that name).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from pydantic import BaseModel, Field

from matchgraph.api.schemas.recommend import (
    AlternativesOut,
    ComparisonOut,
    FeedbackOut,
    ResolveOut,
    ScoreOut,
)
from matchgraph.api.schemas.search import ArtifactDetail, SearchPage
from matchgraph.engine.catalog.models import ArtifactType, PricingModel
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.recommend.resolve import Outcome
from matchgraph.engine.search.filters import SearchFilters
from matchgraph.engine.search.searcher import SearchRequest

SOURCE = "mcp"
CLIENT_HEADER = "x-matchgraph-verified-client"
SCOPES_HEADER = "x-matchgraph-verified-scopes"
INSTRUCTIONS = (
    "matchgraph finds AI artifacts (models, APIs, repositories, MCP servers, agents, apps, datasets) "
    "by the capabilities that serve a need. Call search_capabilities with the need in plain words, "
    "or resolve_capability for one answer with a confidence; compare two artifacts with compare; "
    "report what worked with report_outcome."
)


class Passport(BaseModel):
    """What an agent needs before it trusts an artifact."""

    artifact: ArtifactDetail
    score: ScoreOut | None = Field(description="0–100 with its five parts and their evidence; null "
                                   "before the first ranking.")


def build_server(engine: Callable[[], Matchgraph], local_client: str = "mcp:stdio") -> MCPServer:
    """The MCP server; ``engine()`` gives the open façade. Over HTTP the caller is the client the
    access middleware verified; over stdio it is ``local_client``."""
    server: MCPServer = MCPServer(name="matchgraph", instructions=INSTRUCTIONS)

    def caller(ctx: Context | None) -> str:
        headers = getattr(ctx, "headers", None) if ctx is not None else None
        verified = headers.get(CLIENT_HEADER) if headers else None
        return str(verified) if verified else local_client

    @server.tool(description="Find artifacts whose capabilities serve a need; says plainly when "
                             "nothing in the catalog fits (no_match, with the nearest, not matching).")
    def search_capabilities(
        query: Annotated[str, Field(description="The need in plain words, 2–500 characters.")],
        type: Annotated[ArtifactType | None, Field(description="Keep only this artifact type.")] = None,
        pricing: Annotated[PricingModel | None, Field(description="Keep only this pricing model.")] = None,
        limit: Annotated[int, Field(ge=1, le=20)] = 5,
        ctx: Context | None = None,
    ) -> SearchPage:
        filters = SearchFilters(types=(type,) if type else (), pricing=(pricing,) if pricing else ())
        result = engine().search(SearchRequest(query, filters, limit, source=SOURCE, client_id=caller(ctx)))
        return SearchPage.of(result)

    @server.tool(description="The one artifact and capability that serve an intent, with a "
                             "confidence (a probability), why, alternatives and a resolve_id for "
                             "report_outcome; 'no confident match' below the threshold.")
    def resolve_capability(
        intent: Annotated[str, Field(description="The need in plain words.")],
        type: Annotated[ArtifactType | None, Field(description="Only this artifact type.")] = None,
        ctx: Context | None = None,
    ) -> ResolveOut:
        return ResolveOut.of(engine().resolve(intent, type, client_id=caller(ctx), source=SOURCE))

    @server.tool(description="'A vs B': scores with evidence, capabilities aligned one to one, "
                             "pricing and a verdict (which says when the two do different jobs).")
    def compare(
        a: Annotated[str, Field(description="Slug of the first artifact, e.g. ollama.")],
        b: Annotated[str, Field(description="Slug of the second artifact, e.g. vllm.")],
    ) -> ComparisonOut:
        return ComparisonOut.of(engine().compare(a, b))

    @server.tool(description="'Need something different?': artifacts like this one, each with "
                             "its reason, and searches other people made.")
    def alternatives(
        slug: Annotated[str, Field(description="Slug of the artifact.")],
        limit: Annotated[int, Field(ge=1, le=20)] = 5,
    ) -> AlternativesOut:
        mg = engine()
        return AlternativesOut.of(slug, mg.alternatives([slug], limit), mg.suggested_searches([slug]))

    @server.tool(description="An artifact's facts (licence, pricing, requirements, capabilities), "
                             "times matched, and its score's parts with their evidence.")
    def artifact_passport(slug: Annotated[str, Field(description="Slug of the artifact.")]) -> Passport:
        mg = engine()
        record = mg.get_artifact(slug)
        return Passport(artifact=ArtifactDetail.of(record), score=ScoreOut.of(mg.score(record.row_id)))

    @server.tool(description="Report what happened with an artifact a search or resolve returned: "
                             "selected, helpful, not_helpful, succeeded or failed. Counted once per "
                             "client, search and artifact (the latest outcome wins).")
    def report_outcome(
        reference: Annotated[str, Field(description="The search_id or resolve_id.")],
        artifact: Annotated[str, Field(description="Slug of the artifact it returned.")],
        outcome: Outcome,
        capability: Annotated[str | None, Field(description="The capability, if one.")] = None,
        ctx: Context | None = None,
    ) -> FeedbackOut:
        headers = getattr(ctx, "headers", None) if ctx is not None else None
        if headers and headers.get(CLIENT_HEADER):  # over HTTP: the key must carry the feedback scope
            scopes = set(str(headers.get(SCOPES_HEADER, "")).split(","))
            if not {"feedback", "admin"} & scopes:
                raise PermissionError("reporting an outcome needs an API key with the feedback scope")
        return FeedbackOut(counted=engine().feedback(reference, artifact, capability, outcome, caller(ctx)))

    @server.resource("matchgraph://artifacts/{slug}", mime_type="text/markdown",
                     description="An artifact's page as Markdown.")
    def artifact_page(slug: str) -> str:
        from matchgraph.api.web.markdown import artifact_markdown
        from matchgraph.api.web.views import artifact_view

        return artifact_markdown(artifact_view(engine(), slug), "matchgraph:/")

    return server
