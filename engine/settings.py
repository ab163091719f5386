"""Every setting matchgraph reads, declared once with its default and help text, in groups.

Each group is handed to the component it configures (the index layer gets ``index``, the
recorder ``recorder``, …) and nothing else. Environment variables keep one flat name per
setting with the prefix ``MATCHGRAPH_`` (``MATCHGRAPH_DATA_DIR=/srv/mg``,
``MATCHGRAPH_HNSW_M=16``): names are unique across groups. In code, a setting may be given
flat too (``Settings(writer_flush_seconds=0.05)`` or ``settings.changed(hnsw_m=16)``); it is
routed to its group. The README lists them all; a test keeps the two in step.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import platformdirs
from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from matchgraph.index.config import IndexConfig

if TYPE_CHECKING:
    from matchgraph.index.embedding.choice import BackendChoice
    from matchgraph.index.embedding.embedder import Embedder

ENV_PREFIX = "MATCHGRAPH_"
APP_NAME = "matchgraph"
DEFAULT_WEIGHTS = {
    "adoption": 0.25, "quality": 0.25, "ecosystem": 0.10, "match_graph": 0.25, "freshness": 0.15,
}
DEFAULT_HALF_LIVES = {
    "default": 365.0, "model": 180.0, "api": 240.0, "repo": 180.0, "framework": 240.0,
    "mcp": 180.0, "agent": 180.0, "dataset": 730.0, "benchmark": 730.0,
}


def bundled_data() -> Path:
    """The data that ships with matchgraph, inside the installed package (or the checkout)."""
    from importlib.resources import files

    return Path(str(files("matchgraph.data")))


def bundled_catalog() -> Path:
    return bundled_data() / "catalog"


class _Group(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")


class IndexSettings(_Group, IndexConfig):
    """The retrieval layer: model, backends, dense and lexical indexes, versions kept."""

    def resolved_cache_dir(self) -> Path:
        return self.model_cache_dir or Path(platformdirs.user_cache_dir(APP_NAME)) / "models"

    def load_embedder(self, model_dir: Path | None = None) -> Embedder:
        """The configured model, or ``model_dir`` (a learned one), run by the configured backend;
        ``auto`` is the one measured on this machine for the configured model (a model
        fine-tuned from it has its shape, so its speed). One per process and model."""
        from matchgraph.index.embedding.choice import resolve_backend
        from matchgraph.index.embedding.embedder import load_embedder

        backend = resolve_backend(self.embed_backend, self.model_path(), self.resolved_cache_dir(),
                                  self.max_tokens, bundled=self.model == "bundled")
        return load_embedder(model_dir or self.model_path(), self.query_cache_size, backend,
                             self.resolved_cache_dir(), self.max_tokens)

    def backend_choice(self, remeasure: bool = False) -> BackendChoice:
        """This machine's measured backend choice, measured now if absent or ``remeasure``."""
        from matchgraph.index.embedding.choice import choose_backend

        return choose_backend(self.model_path(), self.resolved_cache_dir(), self.max_tokens,
                              bundled=self.model == "bundled", remeasure=remeasure)


class SearchSettings(_Group):
    """How a query is checked, fused, grouped and kept."""

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
    page_cache_size: int = Field(
        2048, ge=0, description="Ranked result pages kept in memory for the served index version."
    )
    relevance_floor: float | None = Field(
        None, ge=0, le=1,
        description="Least probability that an artifact serves the need (engine.search.relevance) for "
        "a search to return it; when nothing clears it, the search answers no_match. Unset: the floor "
        "chosen when the relevance model was fitted.",
    )
    resolve_min_confidence: float = Field(
        0.5, ge=0, le=1,
        description="Least confidence (the probability that the best artifact serves the intent) for "
        "resolve to name one; under it, resolve answers 'no confident match' with the candidates.",
    )
    relevance_model: Path | None = Field(
        None, description="A relevance model fitted by `matchgraph eval --needs … --fit` (JSON); "
        "default: the one bundled with matchgraph.",
    )


class RecorderSettings(_Group):
    """The match log's background writer."""

    record_matches: bool = Field(True, description="Record searches and matches (times matched).")
    writer_batch_size: int = Field(500, ge=1, description="Match-log rows per commit, at most.")
    writer_flush_seconds: float = Field(
        0.5, gt=0, description="Longest a recorded search waits before it is committed."
    )
    writer_max_pending: int = Field(
        256, ge=1,
        description="Acknowledged searches that may wait to be written; more make new searches wait for "
        "the writer (the most a SIGKILL can lose).",
    )
    writer_outage_buffer: int = Field(
        10_000, ge=0,
        description="Searches held in memory to record later while the database is unreachable; beyond "
        "them new ones are dropped unrecorded and counted (`dropped_matches` in /healthz).",
    )
    writer_nice: int = Field(
        5, ge=0, le=19,
        description="Lower CPU priority of the match writer thread (Linux nice), so searches go first.",
    )


class RankingSettings(_Group):
    """The match graph and the 0–100 score."""

    graph_top_k: int = Field(
        5, ge=2, le=50, description="Artifacts at the top of a search that count as matched together."
    )
    suggest_min_clients: int = Field(
        3, ge=1, description="Distinct verified clients a search needs before it is a suggested search."
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
        60.0, gt=0,
        description="Distinct clients' worth of evidence at which the Match Graph part is half way "
        "(a few clients move it little; see the README's rule for stable scores).",
    )


class LimitSettings(_Group):
    """Who may ask, how often and how much."""

    client_salt: str | None = Field(
        None, description="Salt for hashing client ids (raw ids are never stored); unset: one made "
        "at random for this deployment and kept in the state folder.",
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


class ServerSettings(_Group):
    """`matchgraph serve`: where it listens and what it runs beside the API."""

    host: str = Field("127.0.0.1", description="Address `serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `serve` listens on.")
    workers: int = Field(
        1, ge=1, le=32,
        description="Server processes (each loads the model and the index; they share the data directory).",
    )
    reindex_every: float | None = Field(
        None, gt=0,
        description="Seconds between runs of the re-indexing job in the server's background "
        "(`serve --reindex-every 15m`); unset: never.",
    )
    evidence_refresh_seconds: float = Field(
        30.0, ge=0, le=3600,
        description="Most seconds before a recorded search shows in times matched, the match graph and "
        "the scores of a running server (0: only at start and after re-indexing).",
    )
    public_url: str | None = Field(
        None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="The address people reach the pages at, for links in sitemap.xml, robots.txt, "
        "canonical and Markdown links (e.g. https://matchgraph.example.org); unset: http://HOST:PORT. "
        "The request's Host header is never used.",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser (JSON list)."
    )
    keepalive_timeout: int = Field(5, ge=1, description="Seconds an idle HTTP connection is kept open.")
    header_timeout: float = Field(
        10.0, gt=0, le=300,
        description="Seconds a connection has to send a request's headers (from opening, or from the "
        "previous answer) before it is closed.",
    )
    max_concurrency: int = Field(
        256, ge=1, description="Requests handled at once; more get 503 instead of queueing forever."
    )


class LearningSettings(_Group):
    """`matchgraph learn`: training from evidence, the gate, and what is served after a swap."""

    learned_models: bool = Field(
        True, description="Serve the models `matchgraph learn` swapped in (kept in `learning/` in the "
        "data directory) over `model` and `relevance_model`; false: always the configured ones.",
    )
    learn_every: float | None = Field(
        None, gt=0,
        description="Seconds between learning runs in the server's background (`serve --learn-every "
        "24h`); unset: never.",
    )
    learn_holdout: float = Field(
        0.2, gt=0, lt=1, description="Share of the training queries held out to judge a candidate "
        "(split by query, never by pair).",
    )
    learn_min_pairs: int = Field(
        20, ge=2, description="Fewest training pairs for a learning run to train anything.",
    )
    learn_min_gain: float = Field(
        0.005, ge=0, le=1,
        description="Least held-out nDCG@10 gain over the live models for a candidate to be swapped in "
        "(the bootstrap lower bound of the gain must also be above 0).",
    )
    learn_max_forgetting: float = Field(
        0.01, ge=0, le=1,
        description="Most nDCG@10 a candidate may lose on the guard set (`learn_guard_dir`) and still "
        "be swapped in.",
    )
    learn_guard_dir: Path | None = Field(
        None, description="A BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv) every candidate "
        "is also measured on, as a guard against forgetting (e.g. SciFact); unset: no guard.",
    )
    learn_epochs: int = Field(1, ge=1, le=20, description="Passes over the pairs when fine-tuning the model.")
    learn_batch_size: int = Field(
        16, ge=2, le=256, description="Pairs per fine-tuning step (the others in a batch are its negatives).",
    )
    learn_rate: float = Field(2e-5, gt=0, lt=1, description="Fine-tuning learning rate (AdamW).")
    learn_max_tokens: int = Field(
        128, ge=16, le=512, description="Longest text the model reads while fine-tuning, in word pieces.",
    )
    learn_negatives: int = Field(
        1, ge=0, le=3, description="Hard negatives (capabilities shown above the chosen one) used per pair "
        "when fine-tuning; each costs one more text through the model.",
    )
    learn_frozen_layers: int = Field(
        3, ge=0, le=12, description="Lower transformer layers (with the word embeddings) kept as they are "
        "when fine-tuning: cheaper steps, and less of what the model knew is lost.",
    )
    learn_embedder: bool = Field(
        True, description="Fine-tune the embedding model as a candidate (slow: minutes); false: learn "
        "only the ranker.",
    )


GROUPS: dict[str, type[BaseModel]] = {
    "index": IndexSettings, "search": SearchSettings, "recorder": RecorderSettings,
    "ranking": RankingSettings, "limits": LimitSettings, "server": ServerSettings,
    "learning": LearningSettings,
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME)),
        description="Where runtime state lives: the SQLite file and the index versions "
        "(default: the user's data directory, e.g. ~/.local/share/matchgraph).",
    )
    catalog_dir: Path = Field(
        default_factory=bundled_catalog,
        description="Manifests ingested by `serve` on first start when the catalog is empty "
        "(default: the catalog bundled with matchgraph).",
    )
    store_backend: Literal["sqlite", "postgresql"] = Field(
        "sqlite", description="Catalog and match-log store: `sqlite` (one file in the data directory) or "
        "`postgresql` (chosen by itself when `database_url` is set).",
    )
    database_url: str | None = Field(
        None, pattern=r"^postgres(ql)?://",
        description="A PostgreSQL URL (postgresql://user:password@host:port/db) to keep the catalog, match "
        "log, evidence and API keys in, shared by every replica; unset: the SQLite file.",
    )
    database_pool_size: int = Field(
        8, ge=1, le=100, description="Connections each process keeps open to PostgreSQL, at most."
    )
    index: IndexSettings = Field(default_factory=IndexSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    recorder: RecorderSettings = Field(default_factory=RecorderSettings)
    ranking: RankingSettings = Field(default_factory=RankingSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    learning: LearningSettings = Field(default_factory=LearningSettings)

    @model_validator(mode="before")
    @classmethod
    def _route_flat_names(cls, data: Any) -> Any:
        """``Settings(hnsw_m=16)`` means ``Settings(index={"hnsw_m": 16})``."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for group, model in GROUPS.items():
            mine = {k: out.pop(k) for k in list(out) if k in model.model_fields}
            if mine:
                given = out.get(group) or {}
                if isinstance(given, BaseModel):
                    given = given.model_dump(exclude_unset=True)
                out[group] = {**given, **mine}
        return out

    @model_validator(mode="after")
    def _backend_from_url(self) -> Settings:
        """A database URL chooses PostgreSQL; PostgreSQL without one is a mistake said at once."""
        if self.database_url:
            object.__setattr__(self, "store_backend", "postgresql")
        elif self.store_backend == "postgresql":
            raise ValueError("store_backend postgresql needs MATCHGRAPH_DATABASE_URL=postgresql://...")
        if self.index.dense_backend == "pgvector" and not self.database_url:
            raise ValueError("dense_backend pgvector keeps the vectors in PostgreSQL: set "
                             "MATCHGRAPH_DATABASE_URL=postgresql://...")
        return self

    def changed(self, **values: Any) -> Settings:
        """A copy with some settings changed, given by their flat names (validated again)."""
        body: dict[str, Any] = {k: v for k, v in self.model_dump().items() if k not in GROUPS}
        for group in GROUPS:
            body[group] = getattr(self, group).model_dump()
        return Settings(**{**body, **values})

    @cached_property
    def db_path(self) -> Path:
        return self.data_dir / "matchgraph.db"

    @cached_property
    def index_root(self) -> Path:
        return self.data_dir / "index"


def all_setting_names() -> dict[str, str]:
    """Every setting's flat name and help text, top level and groups (for docs and tests)."""
    names = {n: f.description or "" for n, f in Settings.model_fields.items() if n not in GROUPS}
    for model in GROUPS.values():
        names.update({n: f.description or "" for n, f in model.model_fields.items()})
    return names
