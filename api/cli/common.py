"""What every command shares: the consoles, opening the engine, and turning errors into one
line on stderr and an exit code (never a traceback).

Heavy modules (the engine, the model, FastAPI) are imported inside the commands that need
them, so ``matchgraph --help`` and argument errors answer at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from matchgraph.engine.facade import Matchgraph

out = Console(soft_wrap=True)  # JSON and paths are never cut into lines
err = Console(stderr=True, soft_wrap=True)  # a message keeps its paths on one line

# What a command may raise on bad input, besides MatchgraphError (added where it is imported):
# a path that cannot be read or written, a value that does not parse.
USER_ERRORS: tuple[type[Exception], ...] = (OSError, ValueError, UnicodeDecodeError)


def fail(message: object, code: int = 1) -> typer.Exit:
    """Print one line saying what was wrong and return the exit to raise."""
    text = str(message).strip() or type(message).__name__
    err.print(f"[red]error:[/red] {text}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(code=code)


def user_errors() -> tuple[type[Exception], ...]:
    from matchgraph.engine.errors import MatchgraphError

    return (MatchgraphError, *USER_ERRORS)


@contextmanager
def engine(record: bool | None = None) -> Iterator[Matchgraph]:
    """The façade on the configured state; a bad setting or database is one line and exit 1."""
    from matchgraph.engine.facade import Matchgraph
    from matchgraph.engine.settings import Settings

    try:
        mg = Matchgraph(Settings(), record=record)
    except user_errors() as exc:
        raise fail(exc) from exc
    try:
        yield mg
    finally:
        mg.close()


@contextmanager
def reported(code: int = 1) -> Iterator[None]:
    """Turn the named errors (and bad paths or values) raised inside into a message and exit."""
    from matchgraph.engine.errors import InvalidManifest

    try:
        yield
    except typer.Exit:
        raise
    except user_errors() as exc:
        raise fail(exc, 2 if isinstance(exc, InvalidManifest) else code) from exc


def parse_duration(text: str) -> float:
    """'90s', '15m', '2h', '1d' or plain seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    try:
        value = float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except (ValueError, IndexError):
        raise typer.BadParameter(f"{text!r} is not a duration like 90s, 15m or 2h") from None
    if value <= 0:
        raise typer.BadParameter("the interval must be positive")
    return value
