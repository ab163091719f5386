"""Named crash points for the index job, used by the crash-safety tests.

When the environment variable ``MATCHGRAPH_FAULT`` names a point, the process kills
itself with SIGKILL on reaching it, exactly as a crash or an OOM kill would. Unset (the
normal case) a checkpoint costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "MATCHGRAPH_FAULT"

POINTS = (
    "job-started",
    "lock-taken",
    "embedding",
    "embedded",
    "writing-ids",
    "writing-vectors",
    "writing-dense",
    "writing-lexical",
    "writing-manifest",
    "before-rename",
    "after-rename",
    "before-switch",
    "after-switch",
    "before-rank",
    "after-rank",
    "before-prune",
)


def checkpoint(name: str) -> None:
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
