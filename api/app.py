"""The FastAPI application: engine lifecycle, routers, and domain errors mapped to HTTP."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from mcp.server.transport_security import TransportSecuritySettings

from matchgraph.api.access import AccessControl, redact_credentials
from matchgraph.api.mcp_server import build_server
from matchgraph.api.routes import admin, catalog, health, recommend, search
from matchgraph.api.web import install as install_web_pages
from matchgraph.api.web.security import SecurityHeaders
from matchgraph.engine import __version__
from matchgraph.engine.errors import (
    IndexMismatch,
    IndexNotReady,
    InvalidFeedback,
    InvalidManifest,
    InvalidQuery,
    JobRunning,
    MatchgraphError,
    NotFound,
    StoreUnavailable,
)
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.jobs.index_job import PeriodicJob
from matchgraph.engine.settings import Settings

logger = logging.getLogger(__name__)
_STATUS: dict[type[Exception], int] = {
    NotFound: 404, InvalidQuery: 422, InvalidFeedback: 422, InvalidManifest: 422, JobRunning: 409,
    IndexNotReady: 503, IndexMismatch: 503, StoreUnavailable: 503, MatchgraphError: 422,
}


def in_short_turns(job: Callable[[], object]) -> Callable[[], object]:
    """``job`` run with the interpreter's thread switch every 0.5 ms instead of 5 ms.

    A background job that computes in Python (the evidence fold, about half a second after 30 s
    of searches) holds the interpreter lock for whole 5-ms turns, and a request that gives the
    lock up at each socket or database call waits a turn each time: searches at 150/s stalled
    for 265 ms at every refresh. Shorter turns while the job runs bound that wait."""
    def run() -> object:
        before = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)
        try:
            return job()
        finally:
            sys.setswitchinterval(before)

    return run


def learn_quietly(mg: Matchgraph) -> object:
    """The background learner (``learn_every``): one run; skipped while another holds the lock."""
    from matchgraph.engine.learning.run import learn

    try:
        return learn(mg)
    except JobRunning as exc:
        logger.info("learning skipped: %s", exc)
        return None


def create_app(
    settings: Settings | None = None, *, mg: Matchgraph | None = None, prepare: bool = True,
) -> FastAPI:
    """Build the app. With ``prepare`` the first start ingests the bundled catalog and indexes it;
    with ``reindex_every`` set (seconds) the index job also runs in the background."""
    settings = settings or Settings()
    reindex_every = settings.server.reindex_every
    # MCP over streamable HTTP at /mcp/: the same tools as `matchgraph mcp`, behind the access
    # middleware (an API key with the read scope, the same limits). Host checks are off: the key is
    # the protection, and the Host header never names anything here.
    mcp_server = build_server(lambda: app.state.matchgraph, local_client="mcp:http")
    mcp_app = mcp_server.streamable_http_app(
        streamable_http_path="/", json_response=True, stateless_http=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = mg is None
        app.state.matchgraph = mg or Matchgraph(settings)
        if prepare:
            app.state.matchgraph.ensure_ready()
        app.state.matchgraph.warm_up()
        # What start-up loaded (model, catalog, index) lives as long as the process: take it out
        # of the collector's sight, or every full collection walks it (a 70 ms pause) mid-request.
        gc.collect()
        gc.freeze()
        background = []
        if reindex_every:
            background.append(PeriodicJob("reindexer", app.state.matchgraph.reindex, reindex_every))
        if settings.index.dense_backend == "pgvector":  # serve what any replica publishes, within seconds
            background.append(PeriodicJob("follower", app.state.matchgraph.follow_shared_index, 1.0))
        if settings.learning.learn_every:
            background.append(PeriodicJob("learner", partial(learn_quietly, app.state.matchgraph),
                                          settings.learning.learn_every))
        if settings.server.evidence_refresh_seconds:
            # a refresh is a burst of CPU (half a second after 30 s at 150 searches/s) on a
            # machine the searches keep busy: it takes what they leave (new-query p99 at 150/s
            # 112-158 ms with it at normal priority, 56-61 ms at nice 10)
            background.append(PeriodicJob("evidence", in_short_turns(app.state.matchgraph.refresh_evidence),
                                          settings.server.evidence_refresh_seconds, nice=10))
        for job in background:
            job.start()
        app.state.background = background
        try:
            async with mcp_server.session_manager.run():
                yield
        finally:
            for job in background:
                job.close()
            if owned:
                app.state.matchgraph.close()  # flushes every acknowledged match

    app = FastAPI(
        title="matchgraph",
        version=__version__,
        description="Search-and-match recommendations for AI artifacts.",
        lifespan=lifespan,
    )
    for router in (search.router, catalog.router, recommend.router, admin.router, health.router):
        app.include_router(router)
    app.mount("/mcp", mcp_app)
    # HTML pages, /static and security headers; the pages render their own HTML error pages,
    # so the JSON handlers below keep answering the /v1 routes only.
    install_web_pages(app)

    app.add_middleware(AccessControl, matchgraph_of=lambda: app.state.matchgraph)
    if settings.server.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.server.cors_origins,
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "X-API-Key", "X-Client-Id", "Content-Type"])
    # outermost, so that the access layer's own 401/413/429 answers carry the headers too
    app.add_middleware(SecurityHeaders)
    logging.getLogger("uvicorn.access").addFilter(redact_credentials)

    app.add_exception_handler(RequestValidationError, _invalid_request)
    for error, status in _STATUS.items():
        def handler(request: Request, exc: Exception, status: int = status) -> JSONResponse:
            return JSONResponse({"detail": str(exc)}, status_code=status)

        app.add_exception_handler(error, handler)
    return app


def _printable(text: object) -> str:
    """Text any JSON encoder takes: lone surrogates (valid in a JSON string escape, not in UTF-8)
    are replaced."""
    return str(text).encode("utf-8", "replace").decode("utf-8")


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """422 with where and why for each problem; the offending value is left out, since it may be
    what cannot be written back (NaN, Infinity, a lone surrogate)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [{"loc": [_printable(part) for part in e.get("loc", ())], "msg": _printable(e.get("msg", "")),
               "type": _printable(e.get("type", ""))} for e in errors]
    return JSONResponse({"detail": detail}, status_code=422)


def app_from_environment() -> FastAPI:
    """The app `matchgraph serve` runs in each worker process, configured from the environment."""
    return create_app(Settings())
