from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.errors import IndexMismatch, IndexNotReady, UnknownBackend
from engine.search import SearchRequest
from engine.service import Matchgraph
from engine.settings import Settings
from index.dense import DENSE_BACKENDS, build_dense, choose_kind, load_dense
from index.fusion import reciprocal_rank_fusion
from index.versions import current_version, list_versions, load_version, versions_dir

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
        manifest = mg.build_index()
    assert manifest.reused == 11 and manifest.embedded == 0


def test_damaged_current_version_falls_back_to_the_previous_one(indexed_settings: Settings) -> None:
    with Matchgraph(indexed_settings, record=False) as mg:
        mg.build_index()  # now two versions exist
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
    from .conftest import FIXTURE_CATALOG

    with Matchgraph(indexed_settings, record=False) as server:
        first = server.search(SearchRequest("speech to text", record=False)).index_version
        extra = tmp_path / "extra"
        shutil.copytree(FIXTURE_CATALOG, extra)
        text = (extra / "vecstore.yaml").read_text().replace("slug: vecstore", "slug: vecstore-two")
        (extra / "vecstore-two.yaml").write_text(text)
        with Matchgraph(indexed_settings, record=False) as job:
            job.ingest([extra])
            job.build_index()
        server._checked_at = 0.0  # skip the poll interval instead of sleeping
        second = server.search(SearchRequest("vector database", record=False))
    assert second.index_version != first
    assert "vecstore-two" in [h.artifact.artifact.slug for h in second.hits]
