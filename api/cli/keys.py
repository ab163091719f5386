"""API keys from the terminal: create (the key is shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated

import typer

from matchgraph.api.cli.common import engine, err, fail, out, reported

SCOPES = ("read", "feedback", "write", "admin")
keys_app = typer.Typer(help="API keys with scopes (stored only as hashes).", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who or what uses the key.")],
    scope: Annotated[list[str] | None, typer.Option(
        "--scope", help="read, feedback, write or admin (repeatable; default read).")] = None,
) -> None:
    """Create a key and print it once."""
    from matchgraph.engine.access.keys import Scope

    wrong = [s for s in scope or () if s not in SCOPES]
    if wrong:
        raise fail(f"unknown scope {wrong[0]!r}; valid scopes: {', '.join(SCOPES)}")
    with engine(record=False) as mg, reported():
        issued = mg.create_key(name, [Scope(s) for s in (scope or ["read"])])
    out.print(issued.secret, markup=False)
    err.print(f"key {issued.key_id} for {issued.row.name} with scopes {', '.join(issued.row.scopes)}; "
              "it is not stored and cannot be shown again", markup=False)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    with engine(record=False) as mg, reported():
        rows = mg.list_keys()
    for row in rows:
        state = f"revoked {row.revoked_at}" if row.revoked_at else "active"
        out.print(f"{row.key_id}  {row.name}  {','.join(row.scopes)}  created {row.created_at}  {state}",
                  markup=False)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The 8-character key id.")]) -> None:
    """Revoke a key; requests with it get 401 from then on."""
    with engine(record=False) as mg, reported():
        row = mg.revoke_key(key_id)
    out.print(f"revoked {row.key_id} ({row.name}) at {row.revoked_at}", markup=False)
