"""The catalog's domain models: an artifact and the capabilities it is decomposed into.

These pydantic models are the one validated shape every manifest, importer and store
speaks. Unknown fields are rejected so that a typo in a manifest is an error, not a
silently dropped value.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=False)


ShortText = Annotated[str, Field(min_length=1, max_length=300)]
LongText = Annotated[str, Field(min_length=1, max_length=8000)]


class StartingPrice(_Strict):
    amount: float = Field(ge=0, description="Price in `currency` per `unit`.")
    unit: ShortText = Field(description="What the amount buys, e.g. 'prompt token', 'month', 'image'.")
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"


class Pricing(_Strict):
    model: PricingModel
    free_tier: bool = False
    starting_price: StartingPrice | None = None


class Adoption(_Strict):
    github_stars: int | None = Field(default=None, ge=0)
    downloads: int | None = Field(default=None, ge=0)
    likes: int | None = Field(default=None, ge=0)
    as_of: date | None = None


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
    type: ArtifactType
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
