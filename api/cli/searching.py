"""Asking the engine from the terminal: search, resolve, compare, scores and the match graph."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from matchgraph.api.cli.common import engine, fail, out, reported

if TYPE_CHECKING:
    from matchgraph.api.schemas.recommend import ComparisonOut

TYPES = ("agent", "api", "app", "benchmark", "cli", "dataset", "extension", "finetune", "framework", "mcp",
         "model", "platform", "product", "prompt", "repo", "skill", "template", "webapp", "workflow")
PRICING = ("free", "freemium", "paid", "open-source", "usage-based")


def _choice(value: str | None, valid: tuple[str, ...], what: str) -> str | None:
    if value is not None and value not in valid:
        raise typer.BadParameter(f"{value!r} is not a {what}; valid: {', '.join(valid)}")
    return value


def search(
    query: Annotated[str, typer.Argument(help="What you need, in plain words.")],
    limit: Annotated[int, typer.Option(min=1, max=50)] = 10,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    type: Annotated[list[str] | None, typer.Option("--type", help=f"One of: {', '.join(TYPES)}.")] = None,
    pricing: Annotated[list[str] | None,
                       typer.Option("--pricing", help=f"One of: {', '.join(PRICING)}.")] = None,
    free: Annotated[bool | None, typer.Option("--free/--not-free", show_default=False)] = None,
    category: Annotated[str | None, typer.Option()] = None,
    tag: Annotated[str | None, typer.Option()] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
    record: Annotated[bool, typer.Option("--record/--no-record", help="Count this search.")] = True,
) -> None:
    """Search the catalog from the terminal (the same results as GET /v1/search)."""
    from matchgraph.api.schemas.search import SearchPage
    from matchgraph.engine.catalog.models import ArtifactType, PricingModel
    from matchgraph.engine.search.filters import SearchFilters
    from matchgraph.engine.search.searcher import SearchRequest

    types = tuple(ArtifactType(_choice(t, TYPES, "type")) for t in type or ())
    pricings = tuple(PricingModel(_choice(p, PRICING, "pricing model")) for p in pricing or ())
    filters = SearchFilters(types, pricings, free, category, tag)
    with engine(record=record) as mg, reported():
        result = mg.search(SearchRequest(query, filters, limit, offset, source="cli", client_id="cli",
                                         record=record))
        page = SearchPage.of(result)
    if as_json:
        out.print_json(page.model_dump_json())
        return
    table = Table(title=f"{page.total} artifacts for “{page.query}”", title_justify="left")
    for column in ("#", "artifact", "type", "score", "matched capabilities"):
        table.add_column(column)
    for hit in page.items:
        caps = "\n".join(
            f"{m.name} [{', '.join(m.matched_terms) or 'semantic'}]" for m in hit.matches[:3]
        )
        table.add_row(str(hit.rank), f"{hit.artifact.name}\n{hit.artifact.slug}",
                      hit.artifact.type.value, f"{hit.score:.4f}", caps)
    out.print(table, markup=False)


def resolve(
    intent: Annotated[str, typer.Argument(help="The need, in plain words.")],
    type: Annotated[str | None, typer.Option("--type", help=f"One of: {', '.join(TYPES)}.")] = None,
) -> None:
    """The single best artifact for an intent, with why and a confidence."""
    from matchgraph.engine.catalog.models import ArtifactType

    kind = ArtifactType(_choice(type, TYPES, "type")) if type else None
    with engine() as mg, reported():
        r = mg.resolve(intent, kind, client_id="cli", source="cli")
    if r.best is None:
        out.print(r.why, markup=False)
        for hit in r.alternatives:
            out.print(f"  candidate: {hit.artifact.artifact.name} ({hit.artifact.artifact.slug}), "
                      f"probability {hit.score:.2f}", markup=False)
        return
    best = r.best.artifact.artifact
    out.print(f"{best.name} ({best.slug}), confidence {r.confidence:.2f}", markup=False)
    out.print(r.why, markup=False)
    out.print("alternatives: " + ", ".join(h.artifact.artifact.slug for h in r.alternatives), markup=False)
    out.print(f"resolve id: {r.resolve_id}", markup=False)


def compare(
    a: Annotated[str, typer.Argument(help="Slug of the first artifact.")],
    b: Annotated[str, typer.Argument(help="Slug of the second artifact.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
) -> None:
    """“A vs B”: the table, aligned capabilities, verdict and alternatives."""
    from matchgraph.api.schemas.recommend import ComparisonOut

    with engine(record=False) as mg, reported():
        page = ComparisonOut.of(mg.compare(a, b))
    if as_json:
        out.print_json(page.model_dump_json())
        return
    _print_comparison(page)


def _print_comparison(page: ComparisonOut) -> None:
    na, nb = page.a.artifact.name, page.b.artifact.name
    out.print(page.title, style="bold", markup=False)
    out.print(page.summary, markup=False)
    grid = Table("Feature", na, nb)
    for row in page.table:
        grid.add_row(row.label, row.a, row.b)
    out.print(grid)
    aligned = Table("capability of " + na, "capability of " + nb, "cosine", title="Aligned capabilities")
    for pair in page.aligned:
        aligned.add_row(pair.a, pair.b, f"{pair.similarity:.2f}")
    out.print(aligned)
    out.print(f"Only {na}: {', '.join(page.only_a) or '—'}", markup=False)
    out.print(f"Only {nb}: {', '.join(page.only_b) or '—'}", markup=False)
    out.print("Verdict", style="bold")
    out.print(page.verdict, markup=False)
    out.print("Need something different?", style="bold")
    for alt in page.alternatives:
        out.print(f"  {alt.artifact.name} ({alt.artifact.slug}): {alt.reason}", markup=False)
    if page.suggested_searches:
        out.print("  searches: " + "; ".join(s.query for s in page.suggested_searches), markup=False)


def rank(
    explain: Annotated[str | None, typer.Option(help="Say why this artifact's score moved.")] = None,
    as_of: Annotated[str | None, typer.Option(help="Score as of this date (YYYY-MM-DD).")] = None,
) -> None:
    """Recompute the match graph and every score (one score-history row per artifact)."""
    from matchgraph.api.schemas.recommend import PartOut

    with engine(record=False) as mg, reported():
        if explain is None:
            day = date.fromisoformat(as_of) if as_of else None
            summary = mg.rank(day)
            out.print(f"rank run {summary.run_id} as of {summary.as_of}: {summary.artifacts} "
                      f"artifacts scored, {summary.edges} graph edges from {summary.units} "
                      "search units", markup=False)
            return
        lines, history = mg.explain(explain)
        record = mg.get_artifact(explain)
        score = mg.score(record.row_id)
    if score is None:
        raise fail(f"{explain} has not been ranked yet; run `matchgraph rank`")
    out.print(f"{record.artifact.name}: {score.score:.0f}/100", markup=False)
    for name, body in score.parts.items():
        part = PartOut.model_validate(body)
        out.print(f"  {name:<12} {part.value:.2f}  n={part.n}  {part.note}", markup=False)
    out.print("history: " + ", ".join(f"{d} {s:.0f}" for d, s in history), markup=False)
    out.print("\n".join(lines) if lines else "no change since the previous run", markup=False)


graph_app = typer.Typer(help="The match graph.", no_args_is_help=True)


@graph_app.command("export")
def graph_export(
    output: Annotated[Path, typer.Option("--out", "-o", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="graphml (Gephi) or json (node-link)")] = "graphml",
) -> None:
    """Write the co-match graph for Gephi or networkx."""
    with engine(record=False) as mg, reported():
        n = mg.export_graph(output, fmt)
    out.print(f"wrote {n} edges to {output}", markup=False)
