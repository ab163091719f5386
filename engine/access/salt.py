"""The salt that turns client identities into the hashes stored as evidence.

A public default salt would let anyone who reads the database recover addresses by hashing
every address of a network. Each deployment gets its own: 32 random bytes made on first use
and kept in the state folder (readable by its owner only), unless ``client_salt`` is set.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SALT_FILE = "client-salt"


def deployment_salt(data_dir: Path, configured: str | None) -> str:
    if configured:
        return configured
    path = data_dir / SALT_FILE
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_hex(32)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(salt)
    try:
        os.link(tmp, path)  # first writer wins; a concurrent one reads the winner's salt
    except FileExistsError:
        salt = path.read_text(encoding="utf-8").strip()
    finally:
        tmp.unlink()
    return salt
