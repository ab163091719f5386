"""Security headers on every response, as a small pure-ASGI middleware.

HTML pages get a strict Content-Security-Policy: everything from this origin only, no
inline scripts and no inline styles, no plugins, no framing. The interactive API docs
(`/docs`, `/redoc`) are FastAPI's own pages, which load Swagger/ReDoc from a CDN with an
inline bootstrap script; they get a policy that allows exactly that and nothing else.
Every other response gets a policy that allows nothing, which is harmless for JSON,
Markdown and static files and stops them from being rendered as active documents.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
DOCS_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com",
    "font-src 'self' https://fonts.gstatic.com",
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"
DOCS_PATHS = ("/docs", "/redoc")

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


def policy_for(path: str, content_type: str) -> str:
    if path.startswith(DOCS_PATHS):
        return DOCS_POLICY
    if content_type.startswith("text/html"):
        return PAGE_POLICY
    return OTHER_POLICY


class SecurityHeaders:
    """Adds the headers above to every HTTP response the wrapped app sends."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON.items():
                    if name not in headers:
                        headers[name] = value
                if "content-security-policy" not in headers:
                    headers["content-security-policy"] = policy_for(
                        path, headers.get("content-type", "")
                    )
            await send(message)

        await self.app(scope, receive, send_with_headers)
