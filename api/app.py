"""The FastAPI application: engine lifecycle, routers, and domain errors mapped to HTTP."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from matchgraph.api.access import AccessControl
from matchgraph.api.routes import admin, catalog, health, recommend, search
from matchgraph.api.web import install as install_web_pages
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
)
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.settings import Settings

_STATUS: dict[type[Exception], int] = {
    NotFound: 404, InvalidQuery: 422, InvalidFeedback: 422, InvalidManifest: 422, JobRunning: 409,
    IndexNotReady: 503, IndexMismatch: 503, MatchgraphError: 422,
}


def create_app(
    settings: Settings | None = None, *, engine: Matchgraph | None = None, prepare: bool = True,
    reindex_every: float | None = None,
) -> FastAPI:
    """Build the app. With ``prepare`` the first start ingests the bundled catalog and indexes it;
    with ``reindex_every`` (seconds) the re-indexing job also runs in the background."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = engine is None
        app.state.engine = engine or Matchgraph(settings)
        if prepare:
            app.state.engine.ensure_ready()
        app.state.engine.warm_up()
        # What start-up loaded (model, catalog, index) lives as long as the process: take it out
        # of the collector's sight, or every full collection walks it (a 70 ms pause) mid-request.
        gc.collect()
        gc.freeze()
        reindexer = None
        if reindex_every:
            from matchgraph.engine.jobs.index_job import PeriodicReindexer

            reindexer = PeriodicReindexer(app.state.engine, reindex_every)
            reindexer.start()
        app.state.reindexer = reindexer
        try:
            yield
        finally:
            if reindexer is not None:
                reindexer.close()
            if owned:
                app.state.engine.close()  # flushes every acknowledged match

    app = FastAPI(
        title="matchgraph",
        version=__version__,
        description="Search-and-match recommendations for AI artifacts.",
        lifespan=lifespan,
    )
    for router in (search.router, catalog.router, recommend.router, admin.router, health.router):
        app.include_router(router)
    # HTML pages, /static and security headers; the pages render their own HTML error pages,
    # so the JSON handlers below keep answering the /v1 routes only.
    install_web_pages(app)

    app.add_middleware(AccessControl, engine_of=lambda: app.state.engine)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "X-API-Key", "X-Client-Id", "Content-Type"])

    for error, status in _STATUS.items():
        def handler(request: Request, exc: Exception, status: int = status) -> JSONResponse:
            return JSONResponse({"detail": str(exc)}, status_code=status)

        app.add_exception_handler(error, handler)
    return app


def app_from_environment() -> FastAPI:
    """The app `matchgraph serve` runs in each worker process, configured from the environment."""
    every = os.environ.get("MATCHGRAPH_SERVE_REINDEX_EVERY")
    return create_app(Settings(), reindex_every=float(every) if every else None)
