"""Named errors with messages a user can act on. Routes and CLI commands map these to
HTTP statuses and exit messages; nothing else should leak to users raw."""

from __future__ import annotations

from dataclasses import dataclass


class MatchgraphError(Exception):
    """Base class for every error matchgraph raises on purpose."""


class NotFound(MatchgraphError):
    pass


class InvalidQuery(MatchgraphError):
    pass


class IndexNotReady(MatchgraphError):
    pass


class IndexMismatch(MatchgraphError):
    """The index on disk was built with another model or dimension than the settings ask for."""


class UnknownBackend(MatchgraphError):
    pass


class JobRunning(MatchgraphError):
    """Another index job holds the lock."""


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
