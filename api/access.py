"""Who may ask, and how much: API keys, per-client rate limits and request-size limits.

One pure-ASGI middleware runs before every route:

1. A request body larger than ``max_body_bytes`` is refused with 413 (by its
   Content-Length, or while it streams in when it has none).
2. A key in ``Authorization: Bearer …`` or ``X-API-Key`` must be valid (else 401); the key's
   row is put in ``request.state.api_key`` for routes that need a scope.
3. The client is what the server can verify (``verified_client``): the key, else the
   address; it is put in ``request.state.client`` and is the identity of every match unit and
   feedback. Each client gets a token bucket: keyed clients by key (``key_rate_per_minute``),
   anonymous ones by address (``anon_rate_per_minute``). An empty bucket is a 429 with
   ``Retry-After``. 0 turns a limit off. /healthz and /static are not limited. On PostgreSQL
   the buckets are rows every replica takes from, so N replicas do not give N times the limit.

Routes that need a scope declare it with ``Depends(require_scope(Scope.write))``: no key is
401, a key without the scope is 403.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from matchgraph.engine.access.keys import InvalidKey
from matchgraph.engine.access.keys import Scope as KeyScope
from matchgraph.engine.errors import StoreUnavailable
from matchgraph.engine.store.records import ApiKeyRow

EXEMPT = ("/healthz", "/static")
MAX_CLIENTS = 100_000


class TokenBuckets:
    """Per-client token buckets refilled continuously; thread-safe, bounded in size."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._clock = clock

    def take(self, client: str, per_minute: int) -> float:
        """0.0 if the request may go ahead, else the seconds until it could."""
        if per_minute <= 0:
            return 0.0
        rate = per_minute / 60.0
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(client, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - then) * rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[client] = (tokens, now)
                wait = (1.0 - tokens) / rate
            while len(self._buckets) > MAX_CLIENTS:
                self._buckets.popitem(last=False)
        return wait


def presented_key(headers: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return headers.get("x-api-key") or None


async def _reply(send: Send, status: int, detail: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class TooLarge(Exception):
    pass


class AccessControl:
    def __init__(self, app: ASGIApp, matchgraph_of: Callable[[], object]):
        self.app = app
        self.matchgraph_of = matchgraph_of  # the Matchgraph is created at start-up, after this middleware
        self.in_flight = 0  # requests being answered (one event loop per process: no lock needed)
        self.buckets = TokenBuckets()

    def _take(self, mg: object, bucket: str, per_minute: int) -> float:
        """From the bucket every replica shares (PostgreSQL), else from this process's own."""
        shared = mg.take_token(bucket, per_minute)  # type: ignore[attr-defined]
        return self.buckets.take(bucket, per_minute) if shared is None else float(shared)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        mg = self.matchgraph_of()
        settings = mg.settings  # type: ignore[attr-defined]
        exempt = scope.get("path", "").startswith(EXEMPT)
        if not exempt and self.in_flight >= settings.server.max_concurrency:
            await _reply(send, 503, "the server is at its limit of requests in flight; try again shortly",
                         {"retry-after": "1"})
            return
        self.in_flight += 0 if exempt else 1
        try:
            await self._checked(scope, receive, send, mg, settings)
        finally:
            self.in_flight -= 0 if exempt else 1

    async def _checked(self, scope: Scope, receive: Receive, send: Send, mg: object, settings: Any) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        limits = settings.limits
        limit = limits.max_body_bytes
        declared = headers.get("content-length", "")
        if limit and declared.isdigit() and int(declared) > limit:
            await _reply(send, 413, f"the request body is over {limit} bytes")
            return
        key_row: ApiKeyRow | None = None
        key = presented_key(headers)
        peer = scope.get("client") or ("unknown", 0)
        if key is not None:
            try:
                key_row = mg.authenticate(key)  # type: ignore[attr-defined]
            except StoreUnavailable as exc:  # a key never read before, while the database is down
                await _reply(send, 503, f"cannot check the API key now: {exc}", {"retry-after": "5"})
                return
            except InvalidKey as exc:
                # a wrong key costs its sender from the address's own bucket: guessing is rate-limited
                address = verified_client(None, str(peer[0]), headers, limits.trust_forwarded_for)
                wait = self._take(mg, address, limits.anon_rate_per_minute)
                if wait > 0:
                    await _reply(send, 429, "too many requests with a wrong API key",
                                 {"retry-after": str(max(1, math.ceil(wait)))})
                else:
                    await _reply(send, 401, str(exc), {"www-authenticate": "Bearer"})
                return
        client = verified_client(key_row, str(peer[0]), headers, limits.trust_forwarded_for)
        scope.setdefault("state", {}).update(api_key=key_row, client=client)
        path: str = scope.get("path", "")
        if path.startswith(MCP_PREFIX):
            refusal = _mcp_refusal(key_row)
            if refusal is not None:
                await _reply(send, *refusal)
                return
            # the MCP tools read who is asking from this header, which only this layer writes
            verified = (CLIENT_HEADER_BYTES, SCOPES_HEADER_BYTES)
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() not in verified]
            scope["headers"] += [(CLIENT_HEADER_BYTES, client.encode("latin-1", "replace")),
                                 (SCOPES_HEADER_BYTES, ",".join(key_row.scopes).encode())]  # type: ignore[union-attr]
        if not path.startswith(EXEMPT):
            per_minute = limits.key_rate_per_minute if key_row is not None else limits.anon_rate_per_minute
            wait = self._take(mg, rate_bucket(client), per_minute)
            if wait > 0:
                await _reply(send, 429, f"rate limit of {per_minute} requests a minute reached",
                             {"retry-after": str(max(1, math.ceil(wait)))})
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if limit and message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except TooLarge:
            if not started:
                await _reply(send, 413, f"the request body is over {limit} bytes")


MCP_PREFIX = "/mcp"
CLIENT_HEADER_BYTES = b"x-matchgraph-verified-client"  # api.mcp_server.CLIENT_HEADER
SCOPES_HEADER_BYTES = b"x-matchgraph-verified-scopes"  # api.mcp_server.SCOPES_HEADER


def _mcp_refusal(key: ApiKeyRow | None) -> tuple[int, str, dict[str, str]] | None:
    if key is None:
        return 401, "MCP over HTTP needs an API key with the read scope", {"www-authenticate": "Bearer"}
    if not {KeyScope.read.value, KeyScope.admin.value} & set(key.scopes):
        return 403, f"API key {key.key_id} lacks the read scope", {}
    return None


def verified_client(key: ApiKeyRow | None, peer: str, headers: dict[str, str], trust_forwarded: bool) -> str:
    """Who is asking, from what the server can check: the API key, else the address.

    Behind your own proxy (``trust_forwarded_for``) the address is the last one in
    X-Forwarded-For, the one that proxy saw; earlier entries are whatever the client wrote.
    ``X-Client-Id`` is never an identity of its own: it only tells apart the users behind one
    key (a key holder's own app may subdivide its traffic, not multiply itself without a key)."""
    if key is not None:
        sub = headers.get("x-client-id", "").strip()[:100]
        return f"key:{key.key_id}" + (f"/{sub}" if sub else "")
    forwarded = headers.get("x-forwarded-for", "") if trust_forwarded else ""
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    return "ip:" + (hops[-1] if hops else peer)


def rate_bucket(client: str) -> str:
    """A key's sub-clients share its bucket."""
    return client.split("/", 1)[0]


_CREDENTIAL_PARAM = re.compile(r"(?i)([?&](?:api_key|apikey|key|token|access_token)=)[^&\s]*")


def redact_credentials(record: logging.LogRecord) -> bool:
    """An access-log filter: a key sent in the query string (refused, but sent) is logged as
    ``api_key=[redacted]``, never whole."""
    if isinstance(record.args, tuple):
        record.args = tuple(_CREDENTIAL_PARAM.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                            for a in record.args)
    return True


def api_key(request: Request) -> ApiKeyRow | None:
    return getattr(request.state, "api_key", None)


def require_scope(scope: KeyScope) -> Callable[[Request], Awaitable[ApiKeyRow]]:
    async def check(request: Request) -> ApiKeyRow:  # async: no thread-pool hand-off
        row = api_key(request)
        if row is None:
            raise HTTPException(401, f"this route needs an API key with the {scope.value} scope",
                                headers={"WWW-Authenticate": "Bearer"})
        if scope.value not in row.scopes and KeyScope.admin.value not in row.scopes:
            raise HTTPException(403, f"API key {row.key_id} lacks the {scope.value} scope")
        return row

    return check
