from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np
import pytest
import Stemmer

from matchgraph.engine.errors import IndexMismatch, IndexNotReady, UnknownBackend
from matchgraph.engine.facade import Matchgraph
from matchgraph.engine.search.searcher import SearchRequest
from matchgraph.engine.settings import Settings
from matchgraph.index.dense import DENSE_BACKENDS, build_dense, choose_kind, load_dense, updated_dense
from matchgraph.index.fusion import reciprocal_rank_fusion
from matchgraph.index.lexical import QueryTerms, query_tokens
from matchgraph.index.versions import current_version, list_versions, load_version, versions_dir

from .conftest import publish_a_second_vecstore

RNG = np.random.default_rng(7)


def unit_vectors(n: int, d: int = 32) -> np.ndarray:
    v = RNG.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", DENSE_BACKENDS)
def test_dense_backend_contract(kind: str, tmp_path: Path) -> None:
    vectors = unit_vectors(500)
    ids = np.arange(1000, 1500, dtype=np.int64)
    index = build_dense(kind, ids, vectors)
    assert index.size == 500
    scores, found = index.search(vectors[:10], 5)
    assert list(found[:, 0]) == list(ids[:10])  # each vector finds itself first
    assert np.allclose(scores[:, 0], 1.0, atol=1e-4)
    allowed = ids[::7]
    _, found = index.search(vectors[:10], 5, allowed)
    assert set(found[found >= 0].tolist()) <= set(allowed.tolist())
    _, none = index.search(vectors[:2], 5, np.array([], dtype=np.int64))
    assert (none == -1).all()
    index.save(tmp_path)
    again = load_dense(tmp_path, kind)
    assert np.array_equal(again.search(vectors[:20], 10)[1], index.search(vectors[:20], 10)[1])


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_an_updated_index_answers_like_a_fresh_one(kind: str, tmp_path: Path) -> None:
    vectors = unit_vectors(600)
    ids = np.arange(1, 601, dtype=np.int64)
    index = build_dense(kind, ids, vectors, ivf_nlist=8, ivf_nprobe=8)
    # rows 1-20 get new vectors, rows 21-30 are deleted, rows 601-610 are new
    changed = unit_vectors(20)
    new = unit_vectors(10)
    retire = np.arange(1, 31, dtype=np.int64)
    add_ids = np.concatenate([np.arange(1, 21), np.arange(601, 611)]).astype(np.int64)
    updated = updated_dense(index, retire, add_ids, np.vstack([changed, new]), max_retired=0.2)
    assert updated is not None
    assert updated.size == 600 - 10 + 10
    assert updated.retired == 30
    probes = np.vstack([changed, new, vectors[40:50]])
    expected = [*range(1, 21), *range(601, 611), *range(41, 51)]
    for found in (updated.search(probes, 5)[1], load_dense(_saved(updated, tmp_path), kind,
                                                            nprobe=8).search(probes, 5)[1]):
        assert found[:, 0].tolist() == expected  # new vectors answer, under their row ids
        assert not set(found.ravel().tolist()) & set(range(21, 31))  # deleted rows never do
    # the old vectors of the changed rows are gone: they no longer find their rows first
    old_first = updated.search(vectors[:20], 1)[1][:, 0]
    assert (old_first != np.arange(1, 21)).all()
    _, filtered = updated.search(changed[:3], 5, np.array([2, 3, 25], dtype=np.int64))
    assert set(filtered[filtered >= 0].tolist()) <= {2, 3}


def _saved(index, folder: Path) -> Path:  # type: ignore[no-untyped-def]
    index.save(folder)
    return folder


def test_hnsw_with_too_many_retired_entries_is_rebuilt_not_updated() -> None:
    vectors = unit_vectors(200)
    ids = np.arange(200, dtype=np.int64)
    index = build_dense("hnsw", ids, vectors)
    assert updated_dense(index, ids[:30], ids[:30], unit_vectors(30), max_retired=0.1) is None
    assert index.size == 200 and index.retired == 0  # left as it was
    assert updated_dense(build_dense("flat", ids, vectors), ids[:1], ids[:1], vectors[:1], 0.5) is None


def test_unknown_backend_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownBackend, match="flat, hnsw, ivf"):
        choose_kind("annoy", 10, 100)
    assert choose_kind("auto", 10, 100) == "flat" and choose_kind("auto", 101, 100) == "hnsw"
    assert choose_kind("auto", 501, 100, 500) == "ivf"


def test_rrf_orders_by_weighted_reciprocal_rank() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], [1.0, 1.0], k=60)
    assert [i for i, _ in fused] == [1, 3, 2]
    dense_only = reciprocal_rank_fusion([[1, 2], [2, 1]], [1.0, 0.0])
    assert [i for i, _ in dense_only] == [1, 2]


def test_query_tokens_split_a_query_as_the_index_split_its_texts() -> None:
    # BM25 only matches when a query is split, stop-worded and stemmed exactly as the
    # indexed texts were; the query path does it without bm25s.tokenize, so compare them.
    from matchgraph.engine.catalog.manifests import load_manifests

    catalog = load_manifests([Path(__file__).resolve().parent.parent / "data" / "catalog"])
    texts = [c.description for a in catalog.artifacts for c in a.capabilities]
    texts += [i for a in catalog.artifacts for c in a.capabilities for i in c.intents]
    texts += ["", "   ", "THE Running runners RAN", "naïve café Ünïcode ÆØÅ", "a\x00b\tc d_e",
              'NEAR(foo bar) OR "x" AND title:y*', "日本語の検索 テキスト", "it's the 2nd-best o'clock"]
    assert len(texts) > 1000
    expected = bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"),
                              return_ids=False, show_progress=False)
    assert [query_tokens(t) for t in texts] == [list(t) for t in expected]


def test_query_terms_name_the_query_words_found_in_a_text() -> None:
    terms = QueryTerms("Running the runner, running fast and THE database")
    assert terms.found_in("a runs database for fast runners") == ["running", "runner", "fast", "database"]
    assert terms.found_in("nothing in common") == []
    assert QueryTerms("the and of").found_in("the and of") == []  # stop words never count


def test_version_directory_holds_plain_files_and_a_manifest(indexed_state: Path) -> None:
    root = indexed_state / "index"
    name = current_version(root)
    assert name is not None
    folder = versions_dir(root) / name
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model"] == "all-MiniLM-L6-v2" and manifest["dimension"] == 384
    assert manifest["count"] == 11 and len(manifest["catalog_hash"]) == 64 and manifest["built_at"]
    assert {p.name for p in folder.iterdir()} >= {"ids.npy", "vectors.npy", "dense.faiss",
                                                   "lexical", "text_hashes.txt"}
    assert not any(p.suffix in {".pkl", ".pickle"} for p in folder.rglob("*"))


def test_a_version_built_with_another_model_is_refused(indexed_state: Path) -> None:
    root = indexed_state / "index"
    folder = versions_dir(root) / str(current_version(root))
    with pytest.raises(IndexMismatch, match="dimension|model"):
        load_version(folder, dimension=768)
    with pytest.raises(IndexMismatch, match="matchgraph index"):
        load_version(folder, model_fingerprint="0000")


def test_save_load_gives_the_same_top_k(engine: Matchgraph, indexed_settings: Settings) -> None:
    queries = ["speech to text", "vector search", "local llm", "edit a photo"]
    before = [[(h.artifact.artifact.slug, h.score) for h in r.hits]
              for r in engine.search_many([SearchRequest(q, record=False) for q in queries])]
    with Matchgraph(indexed_settings, record=False) as reloaded:
        after = [[(h.artifact.artifact.slug, h.score) for h in r.hits]
                 for r in reloaded.search_many([SearchRequest(q, record=False) for q in queries])]
    assert before == after


def test_rebuild_reuses_unchanged_vectors(indexed_settings: Settings) -> None:
    with Matchgraph(indexed_settings, record=False) as mg:
        manifest = mg.index().manifest
    assert manifest is not None and manifest.reused == 11 and manifest.embedded == 0


def test_a_small_change_updates_the_hnsw_index_in_place(indexed_settings: Settings) -> None:
    settings = indexed_settings.changed(dense_backend="hnsw")
    with Matchgraph(settings, record=False) as mg:
        first = mg.index().manifest  # flat before: a fresh HNSW build
        assert first is not None and first.dense_kind == "hnsw" and not first.dense_updated
        artifact = mg.get_artifact("pg-reader-mcp").artifact
        artifact.capabilities[0].description += " It also explains slow query plans step by step."
        mg.ingest_artifacts([artifact])
        second = mg.index().manifest
        assert second is not None
        assert second.dense_updated and second.embedded == 1 and second.dense_retired == 1
        hits = mg.search(SearchRequest("explain slow query plans step by step", record=False)).hits
        assert hits[0].artifact.artifact.slug == "pg-reader-mcp"
        third = mg.index().manifest  # nothing changed: carried as it is
        assert third is not None
        assert third.dense_updated and third.embedded == 0 and third.dense_retired == 1


def test_damaged_current_version_falls_back_to_the_previous_one(indexed_settings: Settings) -> None:
    with Matchgraph(indexed_settings, record=False) as mg:
        mg.index()  # now two versions exist
    root = indexed_settings.index_root
    good, newest = list_versions(root)[-2:]
    assert current_version(root) == newest
    (versions_dir(root) / newest / "dense.faiss").write_bytes(b"not a faiss file")
    with Matchgraph(indexed_settings, record=False) as mg:
        result = mg.search(SearchRequest("speech to text", record=False))
        assert result.index_version == good
        health = mg.health()
    assert health.status == "degraded" and health.index_version == good


def test_no_index_at_all_is_a_clear_error(settings: Settings) -> None:
    with Matchgraph(settings, record=False) as mg, pytest.raises(IndexNotReady, match="index"):
        mg.search(SearchRequest("anything", record=False))


def test_new_version_is_picked_up_without_restart(indexed_settings: Settings, tmp_path: Path) -> None:
    with Matchgraph(indexed_settings, record=False) as server:
        first = server.search(SearchRequest("speech to text", record=False)).index_version
        publish_a_second_vecstore(indexed_settings, tmp_path, server)
        second = server.search(SearchRequest("vector database", record=False))
    assert second.index_version != first
    assert "vecstore-two" in [h.artifact.artifact.slug for h in second.hits]
