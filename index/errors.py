"""Errors of the retrieval layer.

``MatchgraphError`` is the base of every error matchgraph raises on purpose; it lives here,
in the bottom layer, so that the layers above can derive their own errors from it and
the edges (API, CLI) can catch all of them in one place.
"""

from __future__ import annotations


class MatchgraphError(Exception):
    """Base class for every error matchgraph raises on purpose."""


class IndexNotReady(MatchgraphError):
    """No usable index version: none built yet, or the one asked for is damaged."""


class IndexMismatch(MatchgraphError):
    """The index on disk was built with another model or dimension than the settings ask for."""


class UnknownBackend(MatchgraphError):
    """A backend named in the settings that does not exist."""


class JobRunning(MatchgraphError):
    """Another index job holds the lock."""
