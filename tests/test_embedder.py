from __future__ import annotations

import numpy as np
import pytest

from engine.errors import UnknownBackend
from engine.settings import Settings
from index.embedder import Embedder, load_embedder

TEXTS = [
    "generate photorealistic images from a prompt",
    "run an open language model on a laptop without a network connection",
    "x",
    "MCP server to query Postgres read-only " * 40,  # longer than the 256-token window
]


def embedder(backend: str) -> Embedder:
    s = Settings()
    return load_embedder(s.model_path(), 16, backend, s.model_cache_dir)


def test_onnx_gives_the_same_vectors_as_torch() -> None:
    torch_vecs = embedder("torch").encode(TEXTS)
    onnx = embedder("onnx")
    onnx_vecs = onnx.encode(TEXTS, batch_size=2)
    assert onnx_vecs.shape == (4, 384)
    assert np.allclose(np.linalg.norm(onnx_vecs, axis=1), 1.0, atol=1e-5)
    assert (np.sum(torch_vecs * onnx_vecs, axis=1) > 0.9999).all()
    assert onnx.fingerprint == embedder("torch").fingerprint  # indexes are interchangeable


def test_query_cache_returns_identical_vectors_in_any_batch() -> None:
    e = embedder("onnx")
    e.clear_cache()
    single = e.encode_queries([TEXTS[0]])
    batch = e.encode_queries([TEXTS[1], TEXTS[0], TEXTS[1]])
    assert np.allclose(batch[1], single[0], atol=1e-6)
    assert np.array_equal(batch[0], batch[2])


def test_unknown_backend_lists_valid_ones() -> None:
    with pytest.raises(UnknownBackend, match="torch, onnx, onnx-int8"):
        Embedder(Settings().model_path(), backend="tensorrt")


def test_a_folder_that_is_not_a_model_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FileNotFoundError, match="modules.json"):
        Embedder(tmp_path)
