"""Manifests in the reference site's published ``unfragile.yml`` shape, mapped to ours.

Assumed shape (one document per artifact; a YAML stream of several documents, or a list
of them, is accepted too)::

    artifact:
      name: Pixel Forge            # required
      slug: pixel-forge            # optional: made from the name when absent
      type: model                  # one of our 19 artifact types
      description: ...             # -> summary
      homepage: https://...        # homepage, repository, docs, license, maintainer as-is
      repository: https://...
      license: Apache-2.0
      maintainer: Example Labs
      pricing: {model: freemium, free_tier: true, starting_price: {amount: 9, unit: month, currency: USD}}
      categories: [...]            # optional, as-is
      tags: [...]                  # optional, as-is
    capabilities:
      - name: Text-to-image generation
        key: text-to-image         # optional: made from the name when absent
        description: ...
        intents_served: [...]      # -> intents
        unique_aspect: ...         # -> unique
        vs_alternatives: ...       # -> vs_alternatives
        conditions:
          bestFor: [...]           # -> best_for
          limitations: [...]       # -> limitations
          requires: [...]          # -> requires
        inputs: [...]              # -> input_types
        outputs: [...]             # -> output_types

Values are mapped, not repaired: a wrong type or a missing name reaches validation,
which names the field. Unknown fields are ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from matchgraph.engine.catalog.decompose import slugify, unique_name
from matchgraph.engine.catalog.importers._common import as_list, make_slug, mapping, prune
from matchgraph.engine.catalog.manifests import RawRecord, ValidatedBatch, validate_records
from matchgraph.engine.errors import ManifestProblem

_ARTIFACT_FIELDS = ("type", "homepage", "repository", "docs", "license", "maintainer", "pricing",
                    "categories", "tags", "updated_at")


def _capability(raw: Any) -> Any:
    if not isinstance(raw, dict):
        return raw
    conditions = mapping(raw.get("conditions"))
    name = raw.get("name")
    return prune({
        "key": raw.get("key"),
        "name": name,
        "description": raw.get("description"),
        "unique": raw.get("unique_aspect"),
        "vs_alternatives": raw.get("vs_alternatives"),
        "intents": as_list(raw.get("intents_served")),
        "best_for": as_list(conditions.get("bestFor")),
        "limitations": as_list(conditions.get("limitations")),
        "requires": as_list(conditions.get("requires")),
        "input_types": as_list(raw.get("inputs")),
        "output_types": as_list(raw.get("outputs")),
    })


def _manifest(doc: Any, seen: set[str]) -> Any:
    if not isinstance(doc, dict) or not isinstance(doc.get("artifact"), dict):
        return doc  # validation reports what it is
    art = doc["artifact"]
    name = art.get("name")
    slug = art.get("slug")
    if not slug and isinstance(name, str) and name.strip():
        slug = make_slug(name, seen)
    elif isinstance(slug, str):
        seen.add(slug)
    capabilities = [_capability(c) for c in as_list(doc.get("capabilities"))]
    keys = {c["key"] for c in capabilities if isinstance(c, dict) and isinstance(c.get("key"), str)}
    for cap in capabilities:  # derive the missing keys from the names, clear of the given ones
        if isinstance(cap, dict) and "key" not in cap:
            cap["key"] = unique_name(slugify(str(cap.get("name") or "")) or "capability", keys)
    return prune({
        "slug": slug,
        "name": name,
        "summary": art.get("description"),
        **{f: art.get(f) for f in _ARTIFACT_FIELDS},
        "capabilities": capabilities,
    })


def import_unfragile(documents: Any) -> list[Any]:
    """Manifest dicts for one ``unfragile.yml`` document or a list of them."""
    docs = documents if isinstance(documents, list) else [documents]
    seen: set[str] = set()
    return [_manifest(doc, seen) for doc in docs]


def validate_unfragile(file: Path) -> ValidatedBatch:
    """Validate an ``unfragile.yml`` file (one document or a YAML stream of several) the way
    ``import unfragile`` reads it: each document mapped to our manifest, then validated; problems
    name the document and the line it starts on."""
    name = str(file)
    try:
        text = file.read_text(encoding="utf-8")
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        docs = list(yaml.safe_load_all(text))
    except (OSError, UnicodeDecodeError) as exc:
        return ValidatedBatch([], [ManifestProblem(name, "file", "-", f"cannot be read: {exc}")], {})
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        return ValidatedBatch([], [ManifestProblem(name, where, "-", f"invalid YAML: {exc}")], {})
    records = [RawRecord(name, f"document {i} (line {node.start_mark.line + 1})", manifest)
               for i, (node, manifest) in enumerate(zip(nodes, import_unfragile(docs)), start=1)]
    return validate_records(records)
