from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from matchgraph.engine.errors import UnknownBackend
from matchgraph.engine.settings import Settings
from matchgraph.index.embedding.embedder import Embedder, load_embedder
from matchgraph.index.embedding.onnx_backend import calibration_digest

TEXTS = [
    "generate photorealistic images from a prompt",
    "run an open language model on a laptop without a network connection",
    "x",
    "MCP server to query Postgres read-only " * 40,  # longer than the 256-token window
]


def embedder(backend: str) -> Embedder:
    s = Settings()
    return load_embedder(s.index.model_path(), 16, backend, s.index.resolved_cache_dir())


@pytest.mark.parametrize(("backend", "min_cosine", "norm_atol"), [
    ("onnx", 0.9999, 1e-5),
    ("openvino", 0.9995, 1e-3),  # bfloat16 where the CPU has it
])
def test_backend_gives_torchs_vectors(backend: str, min_cosine: float, norm_atol: float) -> None:
    torch_e = embedder("torch")
    other = embedder(backend)
    vecs = other.encode(TEXTS, batch_size=2)
    assert vecs.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=norm_atol)
    assert (np.sum(torch_e.encode(TEXTS) * vecs, axis=1) > min_cosine).all()
    assert other.fingerprint == torch_e.fingerprint  # indexes are interchangeable


def test_query_cache_returns_identical_vectors_in_any_batch() -> None:
    e = embedder("onnx")
    e.clear_cache()
    single = e.encode_queries([TEXTS[0]])
    batch = e.encode_queries([TEXTS[1], TEXTS[0], TEXTS[1]])
    assert np.allclose(batch[1], single[0], atol=1e-6)
    assert np.array_equal(batch[0], batch[2])


def test_unknown_backend_lists_valid_ones() -> None:
    with pytest.raises(UnknownBackend, match="torch, onnx, onnx-int8"):
        Embedder(Settings().index.model_path(), backend="tensorrt")


def test_a_folder_that_is_not_a_model_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FileNotFoundError, match="modules.json"):
        Embedder(tmp_path)


def test_calibrated_int8_stays_close_to_torch_and_has_its_own_fingerprint() -> None:
    torch_e = embedder("torch")
    int8 = embedder("openvino-int8")
    cos = np.sum(torch_e.encode(TEXTS) * int8.encode(TEXTS), axis=1)
    assert (cos > 0.95).all() and cos.mean() > 0.98  # the one-letter text moves most
    assert int8.fingerprint != torch_e.fingerprint
    assert f"-ov-int8.{calibration_digest()}" in int8.fingerprint
    # the ranking of related texts survives quantisation
    q = int8.encode_queries(["make a picture from a text description"])[0]
    docs = int8.encode(["text-to-image generation from prompts", "transcribe speech to text"])
    assert float(docs[0] @ q) > float(docs[1] @ q)


def test_openvino_queries_from_many_threads_equal_one_at_a_time() -> None:
    e = embedder("openvino")
    queries = [f"{t} #{i}" for i in range(6) for t in TEXTS[:2]]
    alone = np.stack([e.backend.encode_queries([q])[0] for q in queries])
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = np.stack(list(pool.map(lambda q: e.backend.encode_queries([q])[0], queries)))
    assert np.allclose(alone, together, atol=1e-6)
    assert np.allclose(alone, e.encode(queries, batch_size=4), atol=2e-2)


def test_queries_the_model_reads_alike_share_one_cache_entry() -> None:
    e = embedder("onnx")  # all-MiniLM-L6-v2 lower-cases its input
    e.clear_cache()
    first = e.encode_queries(["Postgres MCP server"])
    again = e.encode_queries(["postgres mcp SERVER", "Postgres MCP server"])
    assert e.cached_queries == 1
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[0], again[1])
    e.encode_queries(["MySQL MCP server"])
    assert e.cached_queries == 2


MIXED = [f"{t} #{i}" for i in range(3) for t in TEXTS]  # short, one-letter and window-long texts
# What each backend can guarantee for a row batched with others against the row alone: rows
# of the same padded length give the same arithmetic up to float rounding (int8 included,
# because its activation ranges are fixed, or the row runs alone where they are not).
ROW_TOLERANCE = 0.99999


def batch_against_alone(backend: str) -> float:
    """The lowest cosine between a query's vector in a mixed batch and its vector alone."""
    e = embedder(backend)
    worst = 1.0
    for size in (2, 3, 5, 8, 12):
        for start in range(0, len(MIXED), 3):
            batch = (MIXED[start:] + MIXED[:start])[:size]
            together = e.backend.encode_queries(batch)
            for row, query in zip(together, batch):
                worst = min(worst, float(row @ e.backend.encode_queries([query])[0]))
    return worst


@pytest.mark.parametrize("backend", ["torch", "onnx", "onnx-int8", "openvino", "openvino-int8"])
def test_a_query_gets_the_same_vector_whatever_it_is_batched_with(backend: str) -> None:
    assert batch_against_alone(backend) > ROW_TOLERANCE


AVX2_ONLY = {"ONEDNN_MAX_CPU_ISA": "AVX2"}  # oneDNN inside OpenVINO keeps to AVX2 kernels


def test_on_an_avx2_only_cpu_too() -> None:
    """OpenVINO picks other kernels without AVX-512 (where one row padded to a long batch's
    length came out at cosine 0.9996 to itself alone); run as such a CPU would."""
    code = ("import sys; from tests.test_embedder import batch_against_alone as b; "
            "print(b('openvino-int8'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         env={**os.environ, **AVX2_ONLY}, cwd=Path(__file__).resolve().parent.parent)
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout.split()[-1]) > ROW_TOLERANCE


def test_queries_embedded_soon_equal_the_direct_run_and_are_cached() -> None:
    e = embedder("openvino-int8")
    e.clear_cache()
    queries = [f"{t} #{i}" for i in range(3) for t in TEXTS]  # 12: batches of 8 and 4 rows
    futures = [e.embed_soon(q) for q in queries]
    soon = np.stack([f.result(60) for f in futures])
    # the three long texts differ only past the 256-word-piece window: one entry for them
    assert e.cached_queries == 10
    direct = np.stack([e.backend.encode_queries([q])[0] for q in queries])
    assert (np.sum(soon * direct, axis=1) > ROW_TOLERANCE).all()  # batched or not
    again = e.embed_soon(queries[0].upper())  # the same word pieces: from the cache at once
    assert again.done() and np.array_equal(again.result(), soon[0])
