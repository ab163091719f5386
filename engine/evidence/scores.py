"""The 0–100 score and its five parts. Pure functions of catalog facts and evidence.

Each part is in [0, 1] and carries its raw inputs, its evidence count ``n``, an interval
(how far it could move with more evidence) and a note a page can show as is.

- **Adoption**: GitHub stars, downloads and likes, each log-scaled against the 90th
  percentile of artifacts of the same type (capped at 1); the strongest of them counts.
- **Quality**: the manifest checklist below (share of items met, 60%) and feedback success
  as the Wilson lower bound of its rate (40%; a neutral prior of 0.2 until feedback exists).
- **Ecosystem**: complement edges in the match graph (30%), mentions by other artifacts'
  capabilities (30%), an open license (20%), an API/SDK to build on (20%).
- **Match Graph**: times matched (plus positive feedback), log-scaled and shrunk toward the
  average of the artifact's type by ``match_prior_strength`` pseudo-matches (75%), plus
  PageRank centrality on the co-match graph (25%).
- **Freshness**: halves every ``half_life`` days (per type) since ``updated_at``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from matchgraph.engine.catalog.models import Artifact

PARTS = ("adoption", "quality", "ecosystem", "match_graph", "freshness")
LABELS = {
    "adoption": "Adoption", "quality": "Quality", "ecosystem": "Ecosystem",
    "match_graph": "Match Graph", "freshness": "Freshness",
}
OPEN_LICENSES = ("apache", "mit", "bsd", "gpl", "mpl", "cc-by", "cc0", "unlicense", "isc", "openrail",
                 "llama", "gemma", "qwen", "mistral", "deepseek")
API_TYPES = {"api", "platform", "framework", "mcp"}


@dataclass
class Part:
    value: float
    n: int
    low: float
    high: float
    note: str
    inputs: dict[str, object] = field(default_factory=dict)
    known: bool = True  # False: no data at all; the part is shown as unknown and not weighed

    def as_dict(self) -> dict[str, object]:
        # by hand: dataclasses.asdict deep-copies, and the rank job calls this 5x per artifact
        return {"value": self.value, "n": self.n, "low": self.low, "high": self.high,
                "note": self.note, "inputs": dict(self.inputs), "known": self.known}


def _clip(x: float) -> float:
    return round(min(1.0, max(0.0, x)), 4)


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a success rate."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denom = 1 + z * z / n
    return max(0.0, (centre - spread) / denom), min(1.0, (centre + spread) / denom)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# Counts compared on a log scale within the artifact's type (or across all types when fewer
# than MIN_PEERS of its type have the figure); the two leaderboard figures have scales of their own.
COUNT_METRICS = ("github_stars", "pypi_downloads_monthly", "npm_downloads_weekly", "hf_downloads_monthly",
                 "hf_likes", "docker_pulls", "vscode_installs", "chrome_users", "monthly_active_users",
                 "weekly_active_users", "registered_users", "paper_citations", "customers", "downloads",
                 "likes")
SCORED_METRICS = frozenset({*COUNT_METRICS, "lmarena_elo", "openrouter_rank"})
MIN_PEERS = 3
ELO_FLOOR = 1100.0  # an LMArena score at or under this counts as no adoption


def adoption_references(artifacts: Mapping[int, Artifact]) -> dict[tuple[str, str], float]:
    """Per (type, metric), and per ("*", metric) over all types: the 90th percentile of
    log1p(value) (of the score, for lmarena_elo) among artifacts that have it."""
    logs: dict[tuple[str, str], list[float]] = {}
    for a in artifacts.values():
        for signal in a.adoption.signals:
            metric = signal.metric.value
            if metric in COUNT_METRICS or metric == "lmarena_elo":
                v = signal.value if metric == "lmarena_elo" else math.log1p(signal.value)
                for key in ((a.type.value, metric), ("*", metric)):
                    logs.setdefault(key, []).append(v)
    return {key: percentile(vals, 0.9) for key, vals in logs.items()
            if key[0] == "*" or len(vals) >= MIN_PEERS}


def _signal_score(type_: str, metric: str, value: float, refs: Mapping[tuple[str, str], float]) -> float:
    if metric == "openrouter_rank":  # 1 is the most used; 100 and beyond count as none
        return max(0.0, 1 - math.log10(max(1.0, value)) / 2)
    ref = refs.get((type_, metric), refs.get(("*", metric), 0.0))
    if metric == "lmarena_elo":
        return (value - ELO_FLOOR) / (ref - ELO_FLOOR) if ref > ELO_FLOOR else 1.0
    return 1.0 if ref <= 0 else math.log1p(value) / ref


def adoption_part(artifact: Artifact, refs: Mapping[tuple[str, str], float]) -> Part:
    """The best of its signals, each scaled against its peers. No signal is unknown, not zero."""
    scores: dict[str, float] = {}
    inputs: dict[str, object] = {}
    for signal in artifact.adoption.signals:
        metric = signal.metric.value
        if metric in inputs or metric not in SCORED_METRICS:
            continue
        inputs[metric] = signal.value
        scores[metric] = _signal_score(artifact.type.value, metric, signal.value, refs)
    if not scores:
        return Part(0.0, 0, 0.0, 1.0, "unknown: no adoption figures in the manifest", inputs, known=False)
    value = _clip(max(scores.values()))
    best = max(scores, key=lambda m: scores[m])
    approximate = any(s.approximate for s in artifact.adoption.signals if s.metric.value == best)
    shown = f"{'~' if approximate else ''}{inputs[best]:,}"
    note = f"{best.replace('_', ' ')}: {shown} (log-scaled within {artifact.type.value}s)"
    return Part(value, len(scores), value, value, note, inputs)


def quality_checklist(artifact: Artifact) -> dict[str, bool]:
    caps = artifact.capabilities
    return {
        "three_or_more_capabilities": len(caps) >= 3,
        "descriptions_say_how_it_works": all(len(c.description) >= 100 for c in caps),
        "unique_stated": all(bool(c.unique) for c in caps),
        "compared_with_alternatives": all(bool(c.vs_alternatives) for c in caps),
        "limitations_declared": all(bool(c.limitations) for c in caps),
        "requirements_declared": any(bool(c.requires) for c in caps),
        "two_or_more_intents": all(len(c.intents) >= 2 for c in caps),
        "license_declared": bool(artifact.license),
        "docs_or_homepage": bool(artifact.docs or artifact.homepage or artifact.repository),
        "summary_written": bool(artifact.summary),
    }


FEEDBACK_SHARE = 0.4
FEEDBACK_PRIOR = 0.2  # about the Wilson lower bound of one success in one try
# The manifest's share (60%) of Quality, by signal
MANIFEST_SHARES = {"checklist": 0.5, "licence_clarity": 0.25, "documentation": 0.25}
SPDX_LIKE = re.compile(r"^(apache-2\.0|mit|bsd-[23]-clause|[al]?gpl-[23]\.0|mpl-2\.0|cc0-1\.0|"
                       r"cc-by(-sa|-nc|-nd|-nc-sa|-nc-nd)?-[34]\.0|unlicense|isc|0bsd)$")


def licence_clarity(licence: str | None) -> float:
    """How clearly the terms of use are stated: a standard licence identifier 1; a named licence
    of its own (community licences, OpenRAIL, model terms) or a split like "MIT (code); CC-BY
    (weights)" 0.75; "proprietary" 0.5 (terms exist, a reader must find them); nothing 0."""
    text = (licence or "").strip().lower()
    if not text:
        return 0.0
    if SPDX_LIKE.match(text):
        return 1.0
    if text.startswith("proprietary"):
        return 0.5
    return 0.75


def documentation(artifact: Artifact) -> float:
    """Reference docs 0.5, a source repository 0.3, a homepage 0.2."""
    return 0.5 * bool(artifact.docs) + 0.3 * bool(artifact.repository) + 0.2 * bool(artifact.homepage)


def quality_part(artifact: Artifact, positive: int, negative: int) -> Part:
    """What the manifest shows (60%: the checklist half of it, how clearly the licence is stated
    and how well it is documented, a quarter each) and feedback success (40%). Before any
    feedback the feedback share holds a neutral prior just under what a single success earns,
    so feedback moves it both ways."""
    checklist = quality_checklist(artifact)
    signals = {"checklist": sum(checklist.values()) / len(checklist),
               "licence_clarity": licence_clarity(artifact.license),
               "documentation": documentation(artifact)}
    base = sum(MANIFEST_SHARES[k] * v for k, v in signals.items())
    n = positive + negative
    inputs: dict[str, object] = {"checklist": checklist, **{k: round(v, 3) for k, v in signals.items()},
                                 "positive_feedback": positive, "negative_feedback": negative}
    met = (f"{sum(checklist.values())}/{len(checklist)} checklist items, licence clarity "
           f"{signals['licence_clarity']:.2f}, documentation {signals['documentation']:.2f}")
    keep = 1 - FEEDBACK_SHARE
    if n == 0:
        value = keep * base + FEEDBACK_SHARE * FEEDBACK_PRIOR
        return Part(_clip(value), 0, _clip(keep * base), _clip(keep * base + FEEDBACK_SHARE),
                    f"{met}; no feedback yet", inputs)
    low, high = wilson(positive, n)
    inputs["success_rate_lower_bound"] = round(low, 4)
    value = keep * base + FEEDBACK_SHARE * low
    note = f"{met}; {positive} of {n} feedback positive"
    return Part(_clip(value), n, _clip(value), _clip(keep * base + FEEDBACK_SHARE * high), note, inputs)


def is_open(artifact: Artifact) -> bool:
    license_ = (artifact.license or "").lower()
    return artifact.pricing.model.value == "open-source" or any(k in license_ for k in OPEN_LICENSES)


def has_api(artifact: Artifact) -> bool:
    if artifact.type.value in API_TYPES:
        return True
    words = (" ".join(c.description for c in artifact.capabilities)).lower()
    return any(w in words for w in (" api", " sdk", "http endpoint", "rest ", "python library"))


def ecosystem_part(artifact: Artifact, mentions: int, max_mentions: int) -> Part:
    """Catalog facts only: how many other artifacts name it, an open licence, an API or SDK.
    (What searches return together is the Match Graph part's, where it is counted by client.)"""
    ment = math.log1p(mentions) / math.log1p(max_mentions) if max_mentions else 0.0
    open_ = is_open(artifact)
    api = has_api(artifact)
    value = 0.5 * ment + 0.25 * open_ + 0.25 * api
    inputs: dict[str, object] = {"mentioned_by": mentions, "open_license": open_, "api_or_sdk": api}
    bits = [f"mentioned by {mentions}"]
    bits += ["open license"] if open_ else []
    bits += ["API/SDK"] if api else []
    return Part(_clip(value), mentions, _clip(value), _clip(value), ", ".join(bits), inputs)


def match_graph_part(matched: int, positive: int, evidence: float, half: float, centrality: float) -> Part:
    """``evidence`` is the artifact's effective evidence (``rank_job.effective_evidence``,
    counted by distinct verified clients); the part is ``evidence / (evidence + half)`` (half
    way at ``half`` clients' worth), of which a quarter rides on its place in the match graph.
    The curve is near-linear at the start, so a few clients move it little."""
    level = evidence / (evidence + half) if evidence > 0 else 0.0
    value = level * (0.75 + 0.25 * centrality)
    spread = 0.5 * half / (evidence + half)
    inputs: dict[str, object] = {"times_matched": matched, "positive_feedback": positive,
                                 "effective_evidence": round(evidence, 2), "centrality": centrality}
    if matched + positive == 0:
        note = "0 matches yet"
    else:
        note = f"{matched} matches" + (f", {positive} positive feedback" if positive else "")
        note += f" ({evidence:g} clients' worth)"
    return Part(_clip(value), matched + positive, _clip(value - spread), _clip(value + spread), note, inputs)


def freshness_part(updated_at: date | None, as_of: date, half_life: float) -> Part:
    if updated_at is None:
        return Part(0.0, 0, 0.0, 1.0, "unknown: no update date in the manifest",
                    {"half_life_days": half_life}, known=False)
    age = max(0, (as_of - updated_at).days)
    value = 0.5 ** (age / half_life)
    inputs: dict[str, object] = {"updated_at": updated_at.isoformat(), "age_days": age,
                                 "half_life_days": half_life}
    return Part(_clip(value), 1, _clip(value), _clip(value), f"updated {age} days ago", inputs)


def weighted_score(parts: Mapping[str, Part], weights: Mapping[str, float]) -> float:
    """The weighted mean of the parts that have data: an unknown part's weight is spread over
    the known ones in proportion to theirs, so missing data neither helps nor sinks a score."""
    known = [p for p in PARTS if parts[p].known]
    total = sum(weights.get(p, 0.0) for p in known) or 1.0
    return round(100 * sum(weights.get(p, 0.0) * parts[p].value for p in known) / total, 1)


def weights_for(type_: str, table: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    return dict(table.get(type_) or table["default"])


REASONS = {
    "adoption": "adoption figures changed",
    "quality": "checklist or feedback changed",
    "ecosystem": "ecosystem presence changed",
    "freshness": "freshness decayed",
}


def explain_change(
    before: Mapping[str, Mapping[str, object]], after: Mapping[str, Mapping[str, object]],
    weights: Mapping[str, float],
) -> list[str]:
    """Lines like "−6.0: freshness decayed" saying which parts moved a score, biggest first."""
    total = sum(weights.get(p, 0.0) for p in PARTS) or 1.0
    lines: list[tuple[float, str]] = []
    for part in PARTS:
        old, new = before.get(part, {}), after.get(part, {})
        delta = 100 * weights.get(part, 0.0) * (float(new.get("value", 0.0)) -  # type: ignore[arg-type]
                                                float(old.get("value", 0.0))) / total  # type: ignore[arg-type]
        if abs(delta) < 0.05:
            continue
        if part == "match_graph":
            was = int(dict(old.get("inputs", {})).get("times_matched", 0))  # type: ignore[call-overload]
            now = int(dict(new.get("inputs", {})).get("times_matched", 0))  # type: ignore[call-overload]
            reason = f"{now - was:+d} matches" if now != was else "match graph position changed"
        elif part == "freshness" and delta > 0:
            reason = "updated recently"
        else:
            reason = REASONS[part]
        sign = "+" if delta > 0 else "−"
        lines.append((abs(delta), f"{sign}{abs(delta):.1f}: {reason} ({LABELS[part]})"))
    return [line for _, line in sorted(lines, key=lambda x: -x[0])]
