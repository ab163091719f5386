"""A typed Python client for the REST API (``/v1``), sync and async, on httpx.

Every call answers with the same pydantic models the server writes, so a program gets the
fields, their types and their documentation from one place::

    from matchgraph.api.client import MatchgraphClient

    with MatchgraphClient("http://127.0.0.1:8000") as mg:
        page = mg.search("run an open LLM locally", limit=3)
        for hit in page.items:
            print(hit.artifact.slug, hit.score)

``AsyncMatchgraphClient`` has the same methods as coroutines. A 4xx or 5xx answer raises
``MatchgraphAPIError`` with the status and the server's reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel

from matchgraph.api.schemas.recommend import (
    AlternativesOut,
    ComparisonOut,
    FeedbackOut,
    GraphOut,
    ResolveOut,
    ScoreHistoryOut,
)
from matchgraph.api.schemas.search import ArtifactDetail, SearchPage

Model = TypeVar("Model", bound=BaseModel)


class MatchgraphAPIError(Exception):
    def __init__(self, status: int, detail: object):
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Call(Generic[Model]):
    """One API call, described once for both clients."""

    method: str
    path: str
    model: type[Model]
    params: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None

    def read(self, response: httpx.Response) -> Model:
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise MatchgraphAPIError(response.status_code, detail)
        return self.model.model_validate(response.json())


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


class Calls:
    """The API's calls; each client runs them its own way."""

    @staticmethod
    def search(query: str, limit: int = 10, offset: int = 0, type: list[str] | None = None,
               pricing: list[str] | None = None, free: bool | None = None, category: str | None = None,
               source: str = "client") -> Call[SearchPage]:
        params = _given(q=query, limit=limit, offset=offset, type=type, pricing=pricing,
                        free=None if free is None else str(free).lower(), category=category, source=source)
        return Call("GET", "/v1/search", SearchPage, params)

    @staticmethod
    def resolve(intent: str, type: str | None = None, limit: int = 5) -> Call[ResolveOut]:
        return Call("POST", "/v1/resolve", ResolveOut, body=_given(intent=intent, type=type, limit=limit))

    @staticmethod
    def compare(a: str, b: str) -> Call[ComparisonOut]:
        return Call("GET", f"/v1/compare/{a}/{b}", ComparisonOut)

    @staticmethod
    def alternatives(slug: str, limit: int = 5) -> Call[AlternativesOut]:
        return Call("GET", f"/v1/artifacts/{slug}/alternatives", AlternativesOut, {"limit": limit})

    @staticmethod
    def artifact(slug: str) -> Call[ArtifactDetail]:
        return Call("GET", f"/v1/artifacts/{slug}", ArtifactDetail)

    @staticmethod
    def score(slug: str) -> Call[ScoreHistoryOut]:
        return Call("GET", f"/v1/artifacts/{slug}/score", ScoreHistoryOut)

    @staticmethod
    def graph(slug: str) -> Call[GraphOut]:
        return Call("GET", f"/v1/graph/{slug}", GraphOut)

    @staticmethod
    def feedback(reference: str, artifact: str, outcome: str, capability: str | None = None,
                 resolve: bool = False) -> Call[FeedbackOut]:
        ref = {"resolve_id" if resolve else "search_id": reference}
        return Call("POST", "/v1/feedback", FeedbackOut,
                    body=_given(**ref, artifact=artifact, outcome=outcome, capability=capability))


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


class MatchgraphClient:
    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None):
        self.http = httpx.Client(base_url=base_url, headers=_headers(api_key), timeout=timeout,
                                 transport=transport)

    def run(self, call: Call[Model]) -> Model:
        return call.read(self.http.request(call.method, call.path, params=call.params, json=call.body))

    def search(self, query: str, **options: Any) -> SearchPage:
        return self.run(Calls.search(query, **options))

    def resolve(self, intent: str, type: str | None = None, limit: int = 5) -> ResolveOut:
        return self.run(Calls.resolve(intent, type, limit))

    def compare(self, a: str, b: str) -> ComparisonOut:
        return self.run(Calls.compare(a, b))

    def alternatives(self, slug: str, limit: int = 5) -> AlternativesOut:
        return self.run(Calls.alternatives(slug, limit))

    def artifact(self, slug: str) -> ArtifactDetail:
        return self.run(Calls.artifact(slug))

    def score(self, slug: str) -> ScoreHistoryOut:
        return self.run(Calls.score(slug))

    def graph(self, slug: str) -> GraphOut:
        return self.run(Calls.graph(slug))

    def feedback(self, reference: str, artifact: str, outcome: str, capability: str | None = None,
                 resolve: bool = False) -> FeedbackOut:
        return self.run(Calls.feedback(reference, artifact, outcome, capability, resolve))

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> MatchgraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncMatchgraphClient:
    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 30.0,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.http = httpx.AsyncClient(base_url=base_url, headers=_headers(api_key), timeout=timeout,
                                      transport=transport)

    async def run(self, call: Call[Model]) -> Model:
        return call.read(await self.http.request(call.method, call.path, params=call.params, json=call.body))

    async def search(self, query: str, **options: Any) -> SearchPage:
        return await self.run(Calls.search(query, **options))

    async def resolve(self, intent: str, type: str | None = None, limit: int = 5) -> ResolveOut:
        return await self.run(Calls.resolve(intent, type, limit))

    async def compare(self, a: str, b: str) -> ComparisonOut:
        return await self.run(Calls.compare(a, b))

    async def alternatives(self, slug: str, limit: int = 5) -> AlternativesOut:
        return await self.run(Calls.alternatives(slug, limit))

    async def artifact(self, slug: str) -> ArtifactDetail:
        return await self.run(Calls.artifact(slug))

    async def score(self, slug: str) -> ScoreHistoryOut:
        return await self.run(Calls.score(slug))

    async def graph(self, slug: str) -> GraphOut:
        return await self.run(Calls.graph(slug))

    async def feedback(self, reference: str, artifact: str, outcome: str, capability: str | None = None,
                       resolve: bool = False) -> FeedbackOut:
        return await self.run(Calls.feedback(reference, artifact, outcome, capability, resolve))

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncMatchgraphClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
