"""Evaluation on a set of needs: does the search answer what a knowledgeable person would accept,
and does it say "nothing fits" when nothing does?

A needs file is JSON Lines, one need per line::

    {"need": "vector database I can self-host", "accept": ["qdrant", "milvus", ...]}
    {"need": "recipe for a chocolate cake", "accept": [], "why": "off-topic"}

Every need runs through the real search path (recording off). Reported: success@1 and
success@5 (an accepted artifact among the first 1 or 5), MRR@5 over servable needs; the share
of unservable needs answered with nothing; and how well resolve's confidence is calibrated
(reliability table, expected calibration error, ROC AUC of right against wrong answers).

The same run can fit the relevance model (``fit_relevance``): one sample per (need, artifact
the retrievers found), labelled by the accept list, fitted by logistic regression; the floor is
the least probability that still answers at least ``unservable_target`` of the unservable needs
with nothing. Reading a file never stops on a bad line: blank or malformed lines are reported
with their number and skipped; needs longer than the query limit are cut to it and counted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from matchgraph.engine.errors import MatchgraphError
from matchgraph.engine.search.relevance import RelevanceModel, fit, fit_confidence
from matchgraph.engine.search.searcher import SearchRequest, SearchResult

K = 5
BINS = 10


@dataclass(frozen=True)
class Need:
    line: int
    text: str
    accept: frozenset[str]
    kind: str | None = None
    why: str | None = None

    @property
    def servable(self) -> bool:
        return bool(self.accept)


@dataclass
class NeedsFile:
    needs: list[Need] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "line N: reason"
    truncated: int = 0


def read_needs(path: Path, max_chars: int = 500) -> NeedsFile:
    """Parse a needs file; a missing or unreadable file raises ``MatchgraphError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MatchgraphError(f"{path}: cannot be read ({exc.__class__.__name__}: {exc})") from exc
    out = NeedsFile()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            out.skipped.append(f"line {number}: blank")
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            out.skipped.append(f"line {number}: not JSON ({exc.msg})")
            continue
        need = data.get("need") if isinstance(data, dict) else None
        accept = data.get("accept", []) if isinstance(data, dict) else None
        if not isinstance(need, str) or not need.strip():
            out.skipped.append(f"line {number}: no need text")
            continue
        if not isinstance(accept, list) or not all(isinstance(a, str) for a in accept):
            out.skipped.append(f"line {number}: accept must be a list of slugs")
            continue
        need = " ".join(need.split())
        if len(need) > max_chars:
            need = need[:max_chars].rsplit(" ", 1)[0] or need[:max_chars]
            out.truncated += 1
        kind = data.get("kind") if isinstance(data.get("kind"), str) else None
        why = data.get("why") if isinstance(data.get("why"), str) else None
        out.needs.append(Need(number, need, frozenset(accept), kind, why))
    return out


def _answers(results: Sequence[SearchResult]) -> list[list[str]]:
    return [[h.artifact.artifact.slug for h in r.hits] for r in results]


def calibration(confidence: Sequence[float], right: Sequence[bool], bins: int = BINS) -> dict[str, Any]:
    """Reliability table, expected calibration error and ROC AUC of a confidence."""
    conf, ok = np.asarray(confidence, dtype=float), np.asarray(right, dtype=bool)
    table, ece = [], 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = (conf >= lo) & ((conf < hi) if b < bins - 1 else (conf <= hi))
        if inside.any():
            mean_conf, accuracy = float(conf[inside].mean()), float(ok[inside].mean())
            table.append({"bin": f"{lo:.1f}–{hi:.1f}", "answers": int(inside.sum()),
                          "confidence": round(mean_conf, 3), "right": round(accuracy, 3)})
            ece += inside.sum() / len(conf) * abs(mean_conf - accuracy)
    pos, neg = conf[ok], conf[~ok]
    auc = None
    if len(pos) and len(neg):  # the chance that a right answer outranks a wrong one
        wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
        auc = float(wins / (len(pos) * len(neg)))
    return {"ece": round(float(ece), 4), "auc": None if auc is None else round(auc, 4), "table": table}


def score_needs(needs: Sequence[Need], results: Sequence[SearchResult],
                confidence: Callable[[SearchResult], float] | None = None) -> dict[str, Any]:
    """The metrics of one run (``results[i]`` answers ``needs[i]``); resolve's confidence in a
    first answer is ``confidence(result)`` (default: the first answer's probability)."""
    confidence = confidence or (lambda r: r.hits[0].score)
    answers = _answers(results)
    servable = [(n, a) for n, a in zip(needs, answers) if n.servable]
    unservable = [(n, a) for n, a in zip(needs, answers) if not n.servable]

    def first_right(need: Need, answer: list[str]) -> int | None:
        return next((i for i, slug in enumerate(answer[:K]) if slug in need.accept), None)

    firsts = [first_right(n, a) for n, a in servable]
    resolved = [(confidence(r), r.hits[0].artifact.artifact.slug in n.accept)
                for n, r in zip(needs, results) if r.hits]
    report: dict[str, Any] = {
        "needs": len(needs), "servable": len(servable), "unservable": len(unservable),
        "success@1": _share(f == 0 for f in firsts),
        "success@5": _share(f is not None for f in firsts),
        "mrr@5": round(sum(1 / (f + 1) for f in firsts if f is not None) / max(1, len(firsts)), 4),
        "servable_answered_with_nothing": _share(not a for _, a in servable),
        "unservable_answered_with_nothing": _share(not a for _, a in unservable),
        "calibration": calibration([c for c, _ in resolved], [ok for _, ok in resolved]),
    }
    by_why: dict[str, list[bool]] = {}
    for n, a in unservable:
        by_why.setdefault(n.why or "unspecified", []).append(not a)
    report["unservable_by_why"] = {w: _share(v) for w, v in sorted(by_why.items())}
    return report


def _share(flags: Any) -> float:
    values = list(flags)
    return round(sum(values) / len(values), 4) if values else 0.0


# -- fitting the relevance model ------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    need: int  # index into the needs
    slug: str
    features: np.ndarray
    label: bool


def samples_of(needs: Sequence[Need], results: Sequence[SearchResult]) -> list[Sample]:
    """One sample per artifact each search ranked (run with the floor at 0 and a deep page)."""
    out = []
    for i, (need, result) in enumerate(zip(needs, results)):
        for hit in result.hits:
            if hit.evidence is not None:
                slug = hit.artifact.artifact.slug
                out.append(Sample(i, slug, hit.evidence.vector(), slug in need.accept))
    return out


def fit_relevance(samples: Sequence[Sample], l2: float = 1.0) -> RelevanceModel:
    x = np.array([s.features for s in samples])
    y = np.array([s.label for s in samples], dtype=float)
    return fit(x, y, l2=l2)


def choose_floor(model: RelevanceModel, needs: Sequence[Need], samples: Sequence[Sample],
                 unservable_target: float = 0.95, among: set[int] | None = None,
                 ) -> tuple[float, dict[str, float]]:
    """The least floor that answers at least ``unservable_target`` of the unservable needs (of
    those ``among``, default all) with nothing, and what it gives on the servable ones."""
    top: dict[int, float] = {}
    for s in samples:
        p = model.probability_of(s.features)
        top[s.need] = max(top.get(s.need, 0.0), p)
    chosen = among if among is not None else set(range(len(needs)))
    unservable = sorted(top.get(i, 0.0) for i, n in enumerate(needs) if not n.servable and i in chosen)
    if not unservable:
        # Every need is servable (a judged retrieval set such as SciFact's train split): nothing
        # says where "nothing fits" begins, so there is no floor; the fit only orders. (A floor
        # under 99% of the relevant artifacts' probabilities cut a fifth of them on a test split.)
        return 0.0, {}
    cut = unservable[min(len(unservable) - 1, math.ceil(unservable_target * len(unservable)) - 1)]
    floor = min(0.99, round(cut + 1e-4, 4))
    servable = [i for i, n in enumerate(needs) if n.servable and i in chosen]
    kept = sum(1 for i in servable if top.get(i, 0.0) >= floor)
    return floor, {"servable_kept": round(kept / max(1, len(servable)), 4)}


def requests_for(needs: Sequence[Need], limit: int) -> list[SearchRequest]:
    return [SearchRequest(n.text, limit=limit, record=False, source="eval") for n in needs]


def run_needs(mg: Any, needs: Sequence[Need], limit: int = 10, batch: int = 32) -> list[SearchResult]:
    """Every need through ``mg.search_many`` (a ``Matchgraph``), in batches."""
    results: list[SearchResult] = []
    for start in range(0, len(needs), batch):
        results += mg.search_many(requests_for(needs[start : start + batch], limit))
    return results


def fit_and_write(mg: Any, needs: Sequence[Need], path: Path, folds: int = 5) -> dict[str, Any]:
    """Fit the relevance model on ``needs`` over ``mg``'s catalog, write it (with its floor) to
    ``path``, and say how it does: on the needs it was fitted on, and in ``folds``-fold
    cross-validation by need (each fold's model scored on needs it never saw)."""
    from matchgraph.engine.facade import Matchgraph

    deep = mg.settings.changed(relevance_floor=0.0)
    with Matchgraph(deep, record=False, max_limit=50) as open_mg:
        samples = samples_of(needs, run_needs(open_mg, needs, limit=50))
    model = fit_relevance(samples)
    floor, kept = choose_floor(model, needs, samples)
    model = with_confidence(RelevanceModel(model.weights, model.bias, floor), samples)
    path.write_text(json.dumps(model.to_json(), indent=2) + "\n", encoding="utf-8")
    held_out = []
    confidences: list[tuple[float, bool]] = []
    for fold in range(folds):
        train = [s for s in samples if s.need % folds != fold]
        fold_model = fit_relevance(train)
        fold_floor, _ = choose_floor(fold_model, needs, train,
                                     among={i for i in range(len(needs)) if i % folds != fold})
        fold_model = with_confidence(RelevanceModel(fold_model.weights, fold_model.bias, fold_floor), train)
        unseen = [s for s in samples if s.need % folds == fold]
        held_out.append(_replay(fold_model, needs, unseen))
        confidences += [(fold_model.confidence(*f), right) for f, right in first_answers(fold_model, unseen)]
    cross_validated: dict[str, Any] = _merge(held_out)
    cal = calibration([c for c, _ in confidences], [r for _, r in confidences])
    cross_validated.update(ece=cal["ece"], auc=cal["auc"])
    return {"floor": floor, "samples": len(samples), **kept, "weights": model.to_json(),
            "cross_validated": cross_validated}


def first_answers(model: RelevanceModel, samples: Sequence[Sample]
                  ) -> list[tuple[tuple[float, float, int], bool]]:
    """Each need's first answer under ``model`` (when one clears its floor): (its probability, the
    second's, how many cleared the floor) and whether it is right."""
    by_need: dict[int, list[tuple[float, bool]]] = {}
    for s in samples:
        p = model.probability_of(s.features)
        if p >= model.floor:
            by_need.setdefault(s.need, []).append((p, s.label))
    out = []
    for answers in by_need.values():
        answers.sort(key=lambda a: -a[0])
        second = answers[1][0] if len(answers) > 1 else 0.0
        out.append(((answers[0][0], second, len(answers)), answers[0][1]))
    return out


def with_confidence(model: RelevanceModel, samples: Sequence[Sample]) -> RelevanceModel:
    """``model`` with resolve's confidence fitted to how often its first answers are right."""
    firsts = first_answers(model, samples)
    if len({right for _, right in firsts}) < 2:
        return model
    weights = fit_confidence([f for f, _ in firsts], [r for _, r in firsts])
    return RelevanceModel(model.weights, model.bias, model.floor, weights)


def _replay(model: RelevanceModel, needs: Sequence[Need], samples: Sequence[Sample]) -> dict[str, list[bool]]:
    """Success and silence of a model on needs it did not see, from their samples alone."""
    ranked: dict[int, list[tuple[float, Sample]]] = {}
    for s in samples:
        ranked.setdefault(s.need, []).append((model.probability_of(s.features), s))
    out: dict[str, list[bool]] = {"success@1": [], "success@5": [], "unservable_nothing": []}
    for i in sorted({s.need for s in samples}):
        kept = sorted((x for x in ranked.get(i, []) if x[0] >= model.floor), key=lambda x: -x[0])
        if needs[i].servable:
            labels = [s.label for _, s in kept]
            out["success@1"].append(bool(labels[:1] and labels[0]))
            out["success@5"].append(any(labels[:K]))
        else:
            out["unservable_nothing"].append(not kept)
    return out


def _merge(parts: Sequence[dict[str, list[bool]]]) -> dict[str, float]:
    return {key: _share(v for p in parts for v in p[key]) for key in parts[0]} if parts else {}
