"""The web pages people use (search, artifact, A vs B, match graph), served by the API app.

``install(app)`` adds the page routes, the static files under /static, the security-headers
middleware and an HTML "not found" page for addresses outside the JSON API.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from .pages import HERE, error_page
from .routes import router

API_PREFIXES = ("/v1", "/docs", "/redoc", "/openapi", "/healthz", "/static", "/agent")

__all__ = ["install"]


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_exception_handler(StarletteHTTPException, _http_error)


async def _http_error(request: Request, exc: Exception) -> Response:
    """A person who mistypes a page address gets a page; API clients keep getting JSON."""
    accepts_html = "text/html" in request.headers.get("accept", "")
    if (not isinstance(exc, StarletteHTTPException) or request.url.path.startswith(API_PREFIXES)
            or not accepts_html):
        return await http_exception_handler(request, exc)  # type: ignore[arg-type]
    reason = "there is no page at this address" if exc.status_code == 404 else str(exc.detail)
    response = error_page(request, exc.status_code, reason)
    if exc.headers:
        response.headers.update(exc.headers)
    return response
