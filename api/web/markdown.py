"""Markdown variants of the artifact and comparison pages, for agents.

Everything that came from a manifest is third-party text: it is stripped of control and
invisible formatting characters, folded onto one line, HTML-escaped (``<``, ``>``, ``&``
become entities, which Markdown shows literally), has the marks that mean something
inline backslash-escaped and a leading block marker neutralised, so it can neither start
a block, open or close a link, emphasis or a table cell, nor smuggle raw HTML into a
renderer. URLs are only written when they are http(s), with the characters that could
end a link target percent-encoded.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from .views import ArtifactView, CompareView, compare_path

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_BLOCK_START = re.compile(r"^(?:([#>+=-])|(\d{1,9})([.)])(?=\s|$))")
_SPACE = re.compile(r"\s+")
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def clean(text: object) -> str:
    """Plain, single-line text: no control, format or unassigned characters."""
    chars = (" " if ch in "\t\n\r\f\v" or unicodedata.category(ch) in {"Zl", "Zp"} else ch
             for ch in str(text))
    kept = "".join(ch for ch in chars if unicodedata.category(ch) not in _INVISIBLE)
    return _SPACE.sub(" ", kept).strip()


def md(text: object) -> str:
    """Third-party text made inert for Markdown (and any HTML a renderer lets through)."""
    plain = clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = _SPECIAL.sub(r"\\\1", plain)
    # nothing may open a block (heading, quote, list, rule) when the text starts a line
    return _BLOCK_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", escaped, count=1)


def url(value: str | None) -> str | None:
    if not value or not value.startswith(("https://", "http://")):
        return None
    return quote(clean(value), safe=":/?#@!$&*+,;=%~")


def link(label: str, target: str) -> str:
    return f"[{md(label)}]({target})"


def _list(label: str, values: list[str]) -> str:
    return f"- {label}: " + "; ".join(md(v) for v in values) if values else ""


def artifact_markdown(view: ArtifactView, base: str) -> str:
    a = view.record.artifact
    out = [f"# {md(a.name)}", ""]
    if a.summary:
        out += [md(a.summary), ""]
    out += [f"- {label}: {md(value)}" for label, value in view.facts]
    for item in view.links:
        target = url(item.href)
        if target:
            out.append(f"- {item.label}: <{target}>")
    out += ["", f"Page: {base}/artifacts/{a.slug}", ""]
    out += ["## Score", ""]
    if view.score is None:
        out += ["Not ranked yet.", ""]
    else:
        out += [f"{view.score:.0f}/100, from five parts (each 0–1, with its evidence count n):", "",
                "| Part | Value | Interval | n | Note |", "|---|---|---|---|---|"]
        out += [f"| {p.label} | {p.value:.2f} | {p.low:.2f}–{p.high:.2f} | {p.n} | {md(p.note)} |"
                for p in view.parts]
        out.append("")
    out += [f"## Capabilities ({len(view.capabilities)})", ""]
    for cap in view.capabilities:
        out += [f"### {md(cap.name)}", "", md(cap.description), ""]
        if cap.unique:
            out.append(f"- Unique: {md(cap.unique)}")
        if cap.vs_alternatives:
            out.append(f"- Versus alternatives: {md(cap.vs_alternatives)}")
        out += [line for line in (_list("Best for", cap.best_for), _list("Limitations", cap.limitations))
                if line]
        out += [f"- Times matched: {cap.times_matched}", ""]
    if view.alternatives:
        out += ["## Alternatives", ""]
        out += [f"- {link(alt.name, f'{base}/agent/artifacts/{alt.slug}')} ({md(alt.type)}): "
                f"{md(alt.reason)}; compare: {base}/agent{compare_path(a.slug, alt.slug)}"
                for alt in view.alternatives]
        out.append("")
    if view.neighbours:
        out += ["## Match graph neighbours", ""]
        out += [f"- {link(n.name, f'{base}/agent/artifacts/{n.slug}')}: {n.kind}, "
                f"matched together in {n.co_searches} searches" for n in view.neighbours]
        out.append("")
    out += _searches(view.suggested, base)
    return "\n".join(out).rstrip() + "\n"


def _searches(suggested: list[tuple[str, int]], base: str) -> list[str]:
    if not suggested:
        return []
    return ["## Suggested searches", "",
            *(f"- {md(q)} ({n}): {base}/?q={quote(clean(q))}" for q, n in suggested), ""]


def _cap_line(cap_name: str, description: str) -> str:
    return f"- **{md(cap_name)}**: {md(description)}"


def compare_markdown(view: CompareView, base: str) -> str:
    a, b = view.a, view.b
    out = [f"# {md(a.name)} vs {md(b.name)}", "", md(view.summary), "",
           f"Page: {base}{view.canonical_path}", "",
           f"| Feature | {md(a.name)} | {md(b.name)} |", "|---|---|---|"]
    out += [f"| {md(r.label)} | {md(r.a)} | {md(r.b)} |" for r in view.rows]
    out += ["", "## Verdict", "", md(view.verdict), ""]
    out += ["## Capabilities side by side", ""]
    out += [f"- {md(x.name)} ↔ {md(y.name)} (cosine {sim:.2f})" for x, y, sim in view.aligned]
    if not view.aligned:
        out.append("- No capabilities line up closely.")
    for side, only in ((a, view.only_a), (b, view.only_b)):
        out += ["", f"### Only in {md(side.name)}", ""]
        out += [_cap_line(c.name, c.description) for c in only] or ["- Nothing."]
    out.append("")
    for side in (a, b):
        out += [f"## {md(side.name)} capabilities ({len(side.capabilities)})", ""]
        out += [_cap_line(c.name, c.description) for c in side.capabilities]
        out.append("")
    if view.alternatives:
        out += ["## Need something different?", ""]
        out += [f"- {link(alt.name, f'{base}/agent/artifacts/{alt.slug}')}: {md(alt.reason)}"
                for alt in view.alternatives]
        out.append("")
    out += _searches(view.suggested, base)
    return "\n".join(out).rstrip() + "\n"
