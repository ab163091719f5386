"""API keys with scopes. A key is shown once, when it is created; only its SHA-256 is stored.

Keys look like ``mg_<8-char id>_<43-char secret>``; the id finds the row, the secret's hash
is compared in constant time. Keys are long random strings, so a fast hash is enough
(passwords would need a slow one).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import Enum

from matchgraph.engine.errors import MatchgraphError, NotFound
from matchgraph.engine.store.contracts import AdminStore
from matchgraph.engine.store.records import ApiKeyRow

PREFIX = "mg"


class Scope(str, Enum):
    read = "read"
    feedback = "feedback"
    write = "write"
    admin = "admin"


class InvalidKey(MatchgraphError):
    """A key that is malformed, unknown or revoked."""


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    secret: str  # the whole key, shown once
    row: ApiKeyRow


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(store: AdminStore, name: str, scopes: list[Scope]) -> IssuedKey:
    if not name.strip():
        raise MatchgraphError("a key needs a name (who or what uses it)")
    key_id = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    row = store.add_api_key(key_id, name.strip(), _digest(secret), sorted({s.value for s in scopes}))
    return IssuedKey(key_id, f"{PREFIX}_{key_id}_{secret}", row)


def authenticate(store: AdminStore, presented: str) -> ApiKeyRow:
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        raise InvalidKey("malformed API key; expected mg_<id>_<secret>")
    try:
        row = store.get_api_key(parts[1])
    except NotFound:
        raise InvalidKey("unknown API key") from None
    if not hmac.compare_digest(row.secret_hash, _digest(parts[2])):
        raise InvalidKey("unknown API key")
    if row.revoked_at:
        raise InvalidKey(f"API key {row.key_id} was revoked on {row.revoked_at}")
    return row
