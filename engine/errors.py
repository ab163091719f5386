"""Named errors with messages a user can act on. Routes and CLI commands map these to
HTTP statuses and exit messages; nothing else should leak to users raw.

The retrieval layer's errors (and the common base, ``MatchgraphError``) come from
``matchgraph.index.errors`` and are named here too, so the layers above import every error
from one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from matchgraph.index.errors import IndexMismatch, IndexNotReady, JobRunning, MatchgraphError, UnknownBackend

__all__ = [
    "FetchFailed", "IndexMismatch", "IndexNotReady", "InvalidFeedback", "InvalidManifest", "InvalidQuery",
    "JobRunning", "ManifestProblem", "MatchgraphError", "NotFound", "StoreUnavailable", "UnknownBackend",
]


class NotFound(MatchgraphError):
    pass


class StoreUnavailable(MatchgraphError):
    """The database cannot be reached (a PostgreSQL outage); what was read before still serves."""


class InvalidQuery(MatchgraphError):
    pass


class InvalidFeedback(MatchgraphError):
    """Feedback about something the search did not return."""


class FetchFailed(MatchgraphError):
    """A URL could not be fetched: not http(s), timed out, an HTTP error status, or too large."""


@dataclass(frozen=True)
class ManifestProblem:
    file: str
    record: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file} [{self.record}] {self.field}: {self.reason}"


class InvalidManifest(MatchgraphError):
    def __init__(self, problems: list[ManifestProblem]):
        self.problems = problems
        head = f"{len(problems)} invalid record field(s); nothing was written"
        super().__init__(head + "\n" + "\n".join(f"  - {p}" for p in problems))
