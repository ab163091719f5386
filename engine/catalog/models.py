"""The catalog's domain models: an artifact and the capabilities it is decomposed into.

These pydantic models are the one validated shape every manifest, importer and store
speaks. Unknown fields are rejected so that a typo in a manifest is an error, not a
silently dropped value.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SLUG_PATTERN = r"^[a-z0-9][a-z0-9._-]*[a-z0-9]$|^[a-z0-9]$"
KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"


class ArtifactType(str, Enum):
    """The 19 kinds of artifact the reference site lists."""

    agent = "agent"
    api = "api"
    app = "app"
    benchmark = "benchmark"
    cli = "cli"
    dataset = "dataset"
    extension = "extension"
    finetune = "finetune"
    framework = "framework"
    mcp = "mcp"
    model = "model"
    platform = "platform"
    product = "product"
    prompt = "prompt"
    repo = "repo"
    skill = "skill"
    template = "template"
    webapp = "webapp"
    workflow = "workflow"


class PricingModel(str, Enum):
    free = "free"
    freemium = "freemium"
    paid = "paid"
    open_source = "open-source"
    usage_based = "usage-based"


class ArtifactStatus(str, Enum):
    active = "active"
    maintenance = "maintenance"
    deprecated = "deprecated"
    archived = "archived"


def not_in_future(value: date | None) -> date | None:
    """Dates a manifest states must not lie more than a day ahead (a clock a day off is forgiven)."""
    if value is not None and value > datetime.now(UTC).date() + timedelta(days=1):
        raise ValueError(f"{value.isoformat()} is in the future")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=False)


ShortText = Annotated[str, Field(min_length=1, max_length=300)]
LongText = Annotated[str, Field(min_length=1, max_length=8000)]


Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class StartingPrice(_Strict):
    amount: Amount = Field(description="Price in `currency` per `unit`.")
    unit: ShortText = Field(description="What the amount buys, e.g. '1M input tokens', 'month', 'image'.")
    currency: Currency = "USD"


class OfferKind(str, Enum):
    """One way to get an artifact: weights or code under a licence, a hosted API, a plan."""

    open_weights = "open-weights"
    open_source = "open-source"
    self_hosted = "self-hosted"
    api = "api"
    subscription = "subscription"
    free = "free"
    enterprise = "enterprise"
    one_time = "one-time"


class PriceOffer(_Strict):
    kind: OfferKind
    provider: ShortText | None = None
    license: ShortText | None = None
    amount: Amount | None = None
    unit: ShortText | None = None
    currency: Currency = "USD"
    note: ShortText | None = None


class Pricing(_Strict):
    model: PricingModel
    free_tier: bool = False
    starting_price: StartingPrice | None = None
    offers: list[PriceOffer] = Field(default_factory=list, max_length=20)


ADOPTION_METRICS = {
    "github_stars": "stars of the main GitHub repository",
    "pypi_downloads_monthly": "PyPI downloads in the last 30 days",
    "npm_downloads_weekly": "npm downloads in the last week",
    "hf_downloads_monthly": "Hugging Face downloads in the last 30 days",
    "hf_likes": "likes on the Hugging Face page",
    "docker_pulls": "Docker Hub pulls, all time",
    "vscode_installs": "VS Code Marketplace installs",
    "chrome_users": "Chrome Web Store users",
    "openrouter_rank": "rank by tokens served on OpenRouter (1 = most used)",
    "lmarena_elo": "LMArena text leaderboard score",
    "monthly_active_users": "monthly active users reported by the maker or the press",
    "weekly_active_users": "weekly active users reported by the maker or the press",
    "registered_users": "people who signed up (all time), reported by the maker or the press",
    "paper_citations": "citations of the paper that introduced it",
    "customers": "paying customers or organisations reported by the maker",
    "downloads": "downloads of an unstated kind (older manifests and importers)",
    "likes": "likes of an unstated kind (older manifests and importers)",
}
AdoptionMetric = Enum("AdoptionMetric", {m: m for m in ADOPTION_METRICS}, type=str)  # type: ignore[misc]
LEGACY_ADOPTION = ("github_stars", "downloads", "likes")


class AdoptionSignal(_Strict):
    metric: AdoptionMetric  # type: ignore[valid-type]
    value: Amount
    source: Annotated[str, Field(min_length=3, max_length=300)] = Field(
        description="Where a reader can check the figure: a page URL or the name of the source."
    )
    as_of: date | None = None
    approximate: bool = Field(False, description="True when the figure is rounded or estimated.")

    @field_validator("as_of")
    @classmethod
    def _as_of_not_future(cls, value: date | None) -> date | None:
        return not_in_future(value)


class Adoption(_Strict):
    """Adoption signals, each with its source and date; ``unknown`` says outright that none is
    known (written ``adoption: unknown`` in a manifest), which scores as unknown, not as zero."""

    signals: list[AdoptionSignal] = Field(default_factory=list, max_length=30)
    unknown: bool = False

    @model_validator(mode="before")
    @classmethod
    def _read_older_forms(cls, value: object) -> object:
        """``adoption: unknown``, and the first format's ``github_stars/downloads/likes/as_of``."""
        if value == "unknown":
            return {"unknown": True}
        if isinstance(value, dict) and any(k in value for k in (*LEGACY_ADOPTION, "as_of")):
            rest = {k: v for k, v in value.items() if k not in (*LEGACY_ADOPTION, "as_of")}
            legacy = [{"metric": k, "value": value[k], "source": "manifest", "as_of": value.get("as_of")}
                      for k in LEGACY_ADOPTION if value.get(k) is not None]
            return {**rest, "signals": [*legacy, *rest.get("signals", [])]}
        return value

    def value_of(self, metric: str) -> float | None:
        return next((s.value for s in self.signals if s.metric.value == metric), None)


class Capability(_Strict):
    key: Annotated[str, Field(pattern=KEY_PATTERN, max_length=80)]
    name: ShortText
    description: LongText
    unique: Annotated[str, Field(max_length=4000)] | None = None
    vs_alternatives: Annotated[str, Field(max_length=4000)] | None = None
    intents: list[ShortText] = Field(default_factory=list)
    best_for: list[ShortText] = Field(default_factory=list)
    limitations: list[ShortText] = Field(default_factory=list)
    requires: list[ShortText] = Field(default_factory=list)
    input_types: list[ShortText] = Field(default_factory=list)
    output_types: list[ShortText] = Field(default_factory=list)

    def index_text(self) -> str:
        """The text the retrievers see: name, description, and the intents it serves."""
        parts = [self.name + ".", self.description]
        if self.intents:
            parts.append(" ".join(i.rstrip(".") + "." for i in self.intents))
        return " ".join(parts)

    def content_hash(self) -> str:
        """A stable hash of everything about the capability, so re-indexing sees changes."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class Artifact(_Strict):
    slug: Annotated[str, Field(pattern=SLUG_PATTERN, max_length=120)]
    name: ShortText
    aliases: list[Annotated[str, Field(min_length=1, max_length=80)]] = Field(
        default_factory=list, max_length=20,
        description="Short names and spellings people type for it (\"sd\", \"postgres\").",
    )
    type: ArtifactType
    status: ArtifactStatus = ArtifactStatus.active
    maintainer: ShortText | None = None
    summary: Annotated[str, Field(max_length=2000)] | None = None
    homepage: Annotated[str, Field(max_length=2000)] | None = None
    repository: Annotated[str, Field(max_length=2000)] | None = None
    docs: Annotated[str, Field(max_length=2000)] | None = None
    license: Annotated[str, Field(max_length=200)] | None = None
    pricing: Pricing = Field(default_factory=lambda: Pricing(model=PricingModel.free, free_tier=True))
    adoption: Adoption = Field(default_factory=Adoption)
    categories: list[ShortText] = Field(default_factory=list)
    tags: list[ShortText] = Field(default_factory=list)
    updated_at: date | None = None
    capabilities: list[Capability] = Field(min_length=1)

    @field_validator("updated_at", mode="before")
    @classmethod
    def _date_from_datetime(cls, value: object) -> object:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, str) and "T" in value:
            return value.split("T", 1)[0]
        return value

    @field_validator("updated_at")
    @classmethod
    def _updated_not_future(cls, value: date | None) -> date | None:
        return not_in_future(value)

    @field_validator("aliases")
    @classmethod
    def _distinct_aliases(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(v.strip() for v in values if v.strip()))

    @field_validator("homepage", "repository", "docs")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://\S+$", value):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("categories", "tags")
    @classmethod
    def _lowercase_labels(cls, values: list[str]) -> list[str]:
        return sorted({v.strip().lower() for v in values if v.strip()})

    @model_validator(mode="after")
    def _unique_capability_keys(self) -> Artifact:
        seen: set[str] = set()
        for cap in self.capabilities:
            if cap.key in seen:
                raise ValueError(f"capability key {cap.key!r} appears more than once")
            seen.add(cap.key)
        return self

    def capability_id(self, cap: Capability) -> str:
        return f"{self.slug}/{cap.key}"
