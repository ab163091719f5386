"""A generated catalog for benchmarks: artifacts whose capabilities are random mixes of the
real sentences and needs written in the default catalog."""

from __future__ import annotations

import random
import re

from matchgraph.engine.catalog.models import Artifact, ArtifactType, Capability, Pricing, PricingModel


def sentences_of(artifacts: list[Artifact]) -> tuple[list[str], list[str]]:
    sents: list[str] = []
    intents: list[str] = []
    for a in artifacts:
        for c in a.capabilities:
            sents.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+", c.description) if len(s) > 30)
            intents.extend(c.intents)
    return sorted(set(sents)), sorted(set(intents))


def generated(
    n_caps: int, sents: list[str], intents: list[str], rng: random.Random
) -> tuple[list[Artifact], dict[str, list[str]]]:
    """Artifacts of four capabilities each, and the real sentences each capability is made of."""
    words = sorted({w.lower() for s in sents for w in re.findall(r"[A-Za-z]{4,}", s)})
    types = list(ArtifactType)
    out = []
    parts: dict[str, list[str]] = {}
    for i in range(n_caps // 4):
        caps = []
        for j in range(4):
            body, needs = rng.sample(sents, 2), rng.sample(intents, 2)
            parts[f"gen-{i:06d}/c{j}"] = body + needs
            caps.append(Capability(
                key=f"c{j}",
                name=" ".join(rng.sample(words, 3)).capitalize(),
                description=" ".join(body),
                intents=needs,
            ))
        out.append(Artifact(
            slug=f"gen-{i:06d}", name=f"Generated {i}", type=rng.choice(types),
            pricing=Pricing(model=rng.choice(list(PricingModel)), free_tier=rng.random() < 0.5),
            categories=[rng.choice(["llm", "image-generation", "rag", "speech", "agents"])],
            capabilities=caps,
        ))
    return out, parts
