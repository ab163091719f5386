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

    def as_dict(self) -> dict[str, object]:
        # by hand: dataclasses.asdict deep-copies, and the rank job calls this 5x per artifact
        return {"value": self.value, "n": self.n, "low": self.low, "high": self.high,
                "note": self.note, "inputs": dict(self.inputs)}


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


ADOPTION_METRICS = ("github_stars", "downloads", "likes")


def adoption_references(artifacts: Mapping[int, Artifact]) -> dict[tuple[str, str], float]:
    """Per (type, metric): the 90th percentile of log1p(value) among artifacts that have it."""
    logs: dict[tuple[str, str], list[float]] = {}
    for a in artifacts.values():
        for metric in ADOPTION_METRICS:
            value = a.adoption.value_of(metric)
            if value:
                logs.setdefault((a.type.value, metric), []).append(math.log1p(value))
    return {key: percentile(vals, 0.9) for key, vals in logs.items()}


def adoption_part(artifact: Artifact, refs: Mapping[tuple[str, str], float]) -> Part:
    scores: dict[str, float] = {}
    inputs: dict[str, object] = {}
    for metric in ADOPTION_METRICS:
        value = artifact.adoption.value_of(metric)
        if value:
            inputs[metric] = value
            ref = refs.get((artifact.type.value, metric), 0.0)
            scores[metric] = 1.0 if ref <= 0 else math.log1p(value) / ref
    if not scores:
        return Part(0.0, 0, 0.0, 1.0, "no adoption figures in the manifest", inputs)
    value = _clip(max(scores.values()))
    best = max(scores, key=lambda m: scores[m])
    note = f"{best.replace('_', ' ')}: {inputs[best]:,} (log-scaled within {artifact.type.value}s)"
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


def quality_part(artifact: Artifact, positive: int, negative: int) -> Part:
    """Checklist (60%) and feedback success (40%). Before any feedback the feedback share holds
    a neutral prior just under what a single success earns, so feedback moves it both ways."""
    checklist = quality_checklist(artifact)
    base = sum(checklist.values()) / len(checklist)
    n = positive + negative
    inputs: dict[str, object] = {"checklist": checklist, "positive_feedback": positive,
                                 "negative_feedback": negative}
    met = f"{sum(checklist.values())}/{len(checklist)} checklist items"
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


def ecosystem_part(
    artifact: Artifact, complements: int, mentions: int, max_complements: int, max_mentions: int
) -> Part:
    comp = math.log1p(complements) / math.log1p(max_complements) if max_complements else 0.0
    ment = math.log1p(mentions) / math.log1p(max_mentions) if max_mentions else 0.0
    open_ = is_open(artifact)
    api = has_api(artifact)
    value = 0.3 * comp + 0.3 * ment + 0.2 * open_ + 0.2 * api
    inputs: dict[str, object] = {"complement_edges": complements, "mentioned_by": mentions,
                                 "open_license": open_, "api_or_sdk": api}
    bits = [f"{complements} complement edges", f"mentioned by {mentions}"]
    bits += ["open license"] if open_ else []
    bits += ["API/SDK"] if api else []
    n = complements + mentions
    return Part(_clip(value), n, _clip(value), _clip(value), ", ".join(bits), inputs)


def match_graph_part(
    matched: int, positive: int, scale: float, prior: float, strength: float, centrality: float,
) -> Part:
    """``scale`` is log1p of the catalog's largest evidence; ``prior`` the type's average."""
    evidence = matched + positive
    raw = math.log1p(evidence) / scale if scale > 0 else 0.0
    shrunk = (evidence * raw + strength * prior) / (evidence + strength)
    value = 0.75 * shrunk + 0.25 * centrality
    spread = 0.5 * strength / (evidence + strength)
    inputs: dict[str, object] = {"times_matched": matched, "positive_feedback": positive,
                                 "type_prior": round(prior, 4), "centrality": centrality}
    if evidence == 0:
        note = "0 matches: prior only"
    else:
        note = f"{matched} matches" + (f", {positive} positive feedback" if positive else "")
    return Part(_clip(value), evidence, _clip(value - spread), _clip(value + spread), note, inputs)


def freshness_part(updated_at: date | None, as_of: date, half_life: float) -> Part:
    if updated_at is None:
        return Part(0.25, 0, 0.0, 1.0, "no update date in the manifest", {"half_life_days": half_life})
    age = max(0, (as_of - updated_at).days)
    value = 0.5 ** (age / half_life)
    inputs: dict[str, object] = {"updated_at": updated_at.isoformat(), "age_days": age,
                                 "half_life_days": half_life}
    return Part(_clip(value), 1, _clip(value), _clip(value), f"updated {age} days ago", inputs)


def weighted_score(parts: Mapping[str, Part], weights: Mapping[str, float]) -> float:
    total = sum(weights.get(p, 0.0) for p in PARTS) or 1.0
    return round(100 * sum(weights.get(p, 0.0) * parts[p].value for p in PARTS) / total, 1)


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
