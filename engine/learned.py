"""Which learned models a deployment serves, and the record of every learning decision.

``matchgraph learn`` (``engine.learning``) trains candidates and gates them; what it decides is
kept here, in ``<data_dir>/learning/state.json``:

- ``active``: the models served now — a fine-tuned embedding model directory and/or a ranker
  (a relevance model JSON) — or nothing, which means the configured ones;
- ``previous``: the actives that were replaced, most recent last (``--rollback`` pops one);
- ``decisions``: every candidate with its figures, whether it was swapped in, and why.

The façade reads ``active`` when it opens (and ``learned_models`` can turn that off). The file is
replaced atomically, so a reader never sees half of it. This module imports nothing from the rest
of the engine, so the façade can read it without depending on the learning code.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"


def learning_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "learning"


@dataclass(frozen=True)
class Active:
    """The models a swap put in service; ``None`` parts mean the configured ones."""

    candidate: str | None = None  # the decision that swapped them in
    model_dir: str | None = None  # a fine-tuned sentence-transformers directory
    ranker: str | None = None  # a relevance model JSON

    @property
    def empty(self) -> bool:
        return self.model_dir is None and self.ranker is None


@dataclass
class LearningState:
    active: Active = field(default_factory=Active)
    previous: list[Active] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"active": asdict(self.active), "previous": [asdict(a) for a in self.previous],
                "decisions": self.decisions}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LearningState:
        return cls(Active(**data.get("active", {})), [Active(**a) for a in data.get("previous", [])],
                   list(data.get("decisions", [])))


def read_state(data_dir: Path) -> LearningState:
    path = learning_dir(data_dir) / STATE_FILE
    if not path.exists():
        return LearningState()
    try:
        return LearningState.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path} is damaged ({exc}); move it away to serve the configured models") from exc


def write_state(data_dir: Path, state: LearningState) -> None:
    folder = learning_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{STATE_FILE}.{uuid.uuid4().hex}"
    tmp.write_text(json.dumps(state.to_json(), indent=2), encoding="utf-8")
    os.replace(tmp, folder / STATE_FILE)


def active_models(data_dir: Path) -> Active:
    """What the façade serves on top of the settings; parts whose files are gone are ignored."""
    active = read_state(data_dir).active
    model_dir = active.model_dir if active.model_dir and Path(active.model_dir).is_dir() else None
    ranker = active.ranker if active.ranker and Path(active.ranker).is_file() else None
    return Active(active.candidate, model_dir, ranker)
