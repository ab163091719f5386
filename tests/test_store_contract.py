"""The store contracts (catalog, match log, evidence, admin), run against every backend.

A new backend proves itself by adding one parameter to ``BACKENDS`` (and a way to open it in
``open_backend``); nothing else here knows which database it talks to.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from matchgraph.engine.catalog.manifests import load_manifests
from matchgraph.engine.errors import NotFound
from matchgraph.engine.store import open_stores
from matchgraph.engine.store.contracts import Stores
from matchgraph.engine.store.records import (
    EdgeRow,
    FeedbackRecord,
    MatchRow,
    QueryEdgeRow,
    RankRun,
    ReindexRun,
    ScoreRow,
    SearchRecord,
)

from .conftest import FIXTURE_CATALOG

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
ARTIFACTS = load_manifests([FIXTURE_CATALOG]).artifacts
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def open_backend(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> Stores:
    if name == "postgresql":
        return open_stores(name, tmp_path / "unused.db", request.getfixturevalue("pg_url"))
    return open_stores(name, tmp_path / "matchgraph.db")


@pytest.fixture(params=BACKENDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    s = open_backend(request.param, tmp_path, request)
    yield s
    s.close()


@pytest.fixture
def filled(stores: Stores) -> Stores:
    stores.catalog.upsert_artifacts(ARTIFACTS)
    return stores


def a_search(stores: Stores, search_id: str, client: str | None, query: str, slugs: list[str],
             when: datetime = NOW) -> SearchRecord:
    """A recorded search that returned the first capability of each artifact, in this order."""
    rows = []
    for rank, slug in enumerate(slugs, start=1):
        art = stores.catalog.artifact(slug)
        cap = next(iter(stores.catalog.capability_ids_of(art.row_id)))
        rows.append(MatchRow(cap, art.row_id, rank, 1.0 / rank, rank))
    return SearchRecord(search_id, query, query.lower(), when, "test", client, {}, len(slugs), "v1",
                        tuple(rows))


# -- catalog ---------------------------------------------------------------------------
def test_upsert_is_all_or_nothing_and_idempotent(stores: Stores) -> None:
    first = stores.catalog.upsert_artifacts(ARTIFACTS)
    second = stores.catalog.upsert_artifacts(ARTIFACTS)
    assert sorted(first.new) == sorted(a.slug for a in ARTIFACTS) and second.new == second.updated == []
    assert stores.catalog.sizes() == (len(ARTIFACTS), sum(len(a.capabilities) for a in ARTIFACTS))


def test_a_changed_artifact_keeps_its_row_ids_and_drops_missing_capabilities(filled: Stores) -> None:
    catalog = filled.catalog
    before = {c.cap_id: c for c in catalog.indexable_capabilities()}
    hash_before = catalog.catalog_hash()
    vec = catalog.artifact("vecstore").artifact.model_copy(deep=True)
    vec.capabilities[0].description += " Now with product quantisation."
    del vec.capabilities[2]
    report = catalog.upsert_artifacts([vec])
    after = {c.cap_id: c for c in catalog.indexable_capabilities()}
    assert report.updated == ["vecstore"] and report.capabilities_removed == 1
    assert "vecstore/hybrid-ranking" not in after
    sim = "vecstore/similarity-search"
    assert after[sim].row_id == before[sim].row_id and after[sim].content_hash != before[sim].content_hash
    assert catalog.catalog_hash() != hash_before


def test_catalog_reads(filled: Stores) -> None:
    catalog = filled.catalog
    vec = catalog.artifact("vecstore")
    assert vec.artifact.name == "VecStore"
    with pytest.raises(NotFound):
        catalog.artifact("nope")
    page, total = catalog.artifact_page(2, 1)
    assert total == len(ARTIFACTS)
    assert [p.artifact.slug for p in page] == sorted(a.slug for a in ARTIFACTS)[1:3]
    assert catalog.artifacts_by_row([vec.row_id, 10**9]) == {vec.row_id: vec}
    caps = catalog.capability_ids_of(vec.row_id)
    assert set(caps.values()) == {f"vecstore/{c.key}" for c in vec.artifact.capabilities}
    one = catalog.capability("vecstore/metadata-filtering")
    assert one.artifact_slug == "vecstore" and one.capability.name == "Filtered vector queries"
    assert catalog.capabilities_by_row([one.row_id])[one.row_id].cap_id == one.cap_id
    with pytest.raises(NotFound):
        catalog.capability("vecstore/nope")
    facets = {f.row_id: f for f in catalog.capability_facets()}
    assert facets[one.row_id].artifact_id == vec.row_id and facets[one.row_id].type == "framework"
    assert [a.slug for a in catalog.iter_artifacts()] == sorted(a.slug for a in ARTIFACTS)


# -- match log ----------------------------------------------------------------------------
def test_a_batch_is_written_whole_with_its_counters(filled: Stores) -> None:
    log, catalog = filled.matchlog, filled.catalog
    batch = [a_search(filled, "s1", "alice", "Vector DB", ["vecstore", "pixel-forge"]),
             a_search(filled, "s2", "alice", "vector db", ["vecstore"]),  # same unit: same client, query, day
             a_search(filled, "s3", "bob", "vector db", ["vecstore"])]
    log.record_searches(batch)
    vec = catalog.artifact("vecstore").row_id
    assert log.match_counts(0, [vec]) == {vec: (2, 3)}  # 2 units (alice, bob), 3 searches
    assert log.sizes() == (3, 4)
    returned = log.search_results("s1")
    assert set(returned) == {vec, catalog.artifact("pixel-forge").row_id}
    with pytest.raises(NotFound):
        log.search_results("never")
    units = list(log.match_units(top_k=5))
    seen = {(u.client, u.query, u.artifact_id) for u in units}
    assert {("alice", "vector db", vec), ("bob", "vector db", vec)} <= seen
    assert log.match_timeline(vec) == [(NOW.date().isoformat(), 2)]
    assert log.query_capability_counts() == []  # the query counters move when evidence is folded
    counts = log.fold_evidence(top_k=5)
    queries = log.query_capability_counts()
    assert any(q.query == "vector db" and q.artifact_id == vec and q.units == 2 for q in queries)
    pixel = catalog.artifact("pixel-forge").row_id
    assert counts.units == 2  # (alice, "vector db", day) and (bob, "vector db", day)
    assert counts.pairs == {(min(vec, pixel), max(vec, pixel)): 1}


def test_folding_evidence_twice_adds_only_what_is_new(filled: Stores) -> None:
    log, catalog = filled.matchlog, filled.catalog
    vec, pixel = catalog.artifact("vecstore").row_id, catalog.artifact("pixel-forge").row_id
    log.record_searches([a_search(filled, "s1", "alice", "q one", ["vecstore"])])
    first = log.fold_evidence(top_k=5)
    assert (first.units, first.appearances, first.pairs) == (1, {vec: 1}, {})
    assert log.fold_evidence(top_k=5) == first  # nothing new, nothing moves
    # the same unit later returns one more artifact: no new unit, one new pair
    log.record_searches([a_search(filled, "s2", "alice", "q one", ["vecstore", "pixel-forge"])])
    second = log.fold_evidence(top_k=5)
    assert (second.units, second.appearances) == (1, {vec: 1, pixel: 1})
    assert second.pairs == {(min(vec, pixel), max(vec, pixel)): 1}
    assert log.fold_evidence(top_k=1).units == 1  # another top-k refolds from the start


def test_a_failing_batch_writes_nothing(filled: Stores) -> None:
    good = a_search(filled, "ok", "c", "q", ["vecstore"])
    duplicate = a_search(filled, "ok", "c", "q", ["vecstore"])  # the same search id twice fails
    with pytest.raises(Exception):  # noqa: B017 - each backend raises its own integrity error
        filled.matchlog.record_searches([good, duplicate])
    assert filled.matchlog.sizes() == (0, 0)
    assert filled.matchlog.match_counts(0, [filled.catalog.artifact("vecstore").row_id]) == {}


def test_units_are_per_day(filled: Stores) -> None:
    log = filled.matchlog
    log.record_searches([a_search(filled, "d1", "c", "q", ["vecstore"]),
                         a_search(filled, "d2", "c", "q", ["vecstore"], NOW + timedelta(days=1))])
    vec = filled.catalog.artifact("vecstore").row_id
    assert log.match_counts(0, [vec]) == {vec: (2, 2)}
    assert [n for _, n in log.match_timeline(vec)] == [1, 1]


# -- evidence ----------------------------------------------------------------------------
def test_feedback_counts_once_per_client_and_tallies(filled: Stores) -> None:
    filled.matchlog.record_searches([a_search(filled, "s", "c", "q", ["vecstore"])])
    vec = filled.catalog.artifact("vecstore").row_id
    record = FeedbackRecord("s", vec, None, "helpful", "client-a", NOW)
    assert filled.evidence.add_feedback(record) is True
    assert filled.evidence.add_feedback(record) is False
    assert filled.evidence.add_feedback(FeedbackRecord("s", vec, None, "failed", "client-b", NOW)) is True
    tally = {(t.artifact_id, t.capability_id): t for t in filled.evidence.feedback_tallies()}
    assert (tally[(vec, 0)].positive, tally[(vec, 0)].negative) == (1, 1)
    assert filled.evidence.feedback_count() == 2


def test_selections_are_verified_positive_words_once_per_client_and_search(filled: Stores) -> None:
    shown = ["pixel-forge", "vecstore"]
    filled.matchlog.record_searches([a_search(filled, "s", "c", "need a vector store", shown)])
    vec, pix = (filled.catalog.artifact(s).row_id for s in ("vecstore", "pixel-forge"))
    for record in (FeedbackRecord("s", vec, None, "selected", "client-a", NOW),
                   FeedbackRecord("s", pix, None, "helpful", "client-a", NOW + timedelta(seconds=1)),
                   FeedbackRecord("s", vec, None, "helpful", "", NOW),  # a local command: unverified
                   FeedbackRecord("s", pix, None, "failed", "client-b", NOW)):  # not a positive word
        filled.evidence.add_feedback(record)
    [chosen] = filled.evidence.selections()
    assert (chosen.client_hash, chosen.query, chosen.artifact_id) == ("client-a", "need a vector store", vec)
    assert [m.artifact_id for m in chosen.shown] == [pix, vec]  # what the search showed, best first


def test_a_rank_run_replaces_the_graph_and_scores_and_keeps_history(filled: Stores) -> None:
    ev = filled.evidence
    a, b = (filled.catalog.artifact(s).row_id for s in ("vecstore", "pixel-forge"))
    a, b = min(a, b), max(a, b)
    assert ev.last_rank_run() is None

    def run(day: str, score: float) -> int:
        rank_run = RankRun("2026-11-30T12:00:00+00:00", day, 3, 0, "hash", {"k": 1})
        edge = EdgeRow(a, b, "complement", 2, 0.5, 0.3, 0.2)
        query = QueryEdgeRow("vector db", 1, a, 3, 2)
        return ev.save_rank_run(rank_run, [edge], [query], [ScoreRow(a, score, {"adoption": {"value": 0.5}})])

    first, second = run("2026-11-30", 40.0), run("2026-12-01", 42.0)
    assert second > first and ev.last_rank_run().as_of == "2026-12-01"  # type: ignore[union-attr]
    assert ev.scores_for([a, b]) == {a: ScoreRow(a, 42.0, {"adoption": {"value": 0.5}})}
    assert [row.score for _, row in ev.score_history(a)] == [42.0, 40.0]
    assert [(e.a, e.b) for e in ev.neighbours(b)] == [(a, b)] and len(ev.all_edges()) == 1
    assert ev.top_queries([a]) == [("vector db", 2)]


# -- admin ------------------------------------------------------------------------------
def test_api_keys(stores: Stores) -> None:
    admin = stores.admin
    row = admin.add_api_key("k1", "ci", "hash", ["read", "feedback"])
    assert row.scopes == ("read", "feedback") and row.revoked_at is None
    assert admin.get_api_key("k1") == row and admin.list_api_keys() == [row]
    assert admin.revoke_api_key("k1").revoked_at is not None
    with pytest.raises(NotFound):
        admin.get_api_key("nope")


def test_index_runs(stores: Stores) -> None:
    admin = stores.admin
    done, dead = admin.start_reindex_run(), admin.start_reindex_run()
    admin.finish_reindex_run(ReindexRun(done, outcome="ok", version="v1", capabilities=3))
    assert admin.abandon_running_runs("its job died") == 1
    runs = {r.id: r for r in admin.reindex_runs()}
    assert runs[done].outcome == "ok" and runs[done].version == "v1" and runs[done].finished_at
    assert runs[dead].outcome == "killed" and runs[dead].note == "its job died"


def test_exclusive_is_held_by_one_opener_of_the_database_at_a_time(
    stores: Stores, tmp_path: Path, request: pytest.FixtureRequest,
) -> None:
    other = open_backend(request.node.callspec.params["stores"], tmp_path, request)
    events: list[str] = []
    inside = threading.Event()

    def second() -> None:
        inside.wait(10)
        with other.database.exclusive("job"):
            events.append("second in")

    thread = threading.Thread(target=second)
    thread.start()
    try:
        with stores.database.exclusive("job"):
            inside.set()
            time.sleep(0.5)  # the other opener is waiting meanwhile
            events.append("first out")
        thread.join(10)
        assert events == ["first out", "second in"]
        with stores.database.exclusive("another"), other.database.exclusive("job"):
            pass  # locks by other names do not wait for each other
    finally:
        thread.join(10)
        other.close()
