from __future__ import annotations

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matchgraph.engine.catalog.decompose import decompose, leading_words, slugify
from matchgraph.engine.catalog.models import KEY_PATTERN, Capability
from matchgraph.engine.settings import Settings
from matchgraph.index.embedding.embedder import load_embedder

README = """\
# Ledgerline [![ci](https://img.example.org/ci.svg)](https://ci.example.org) ![stars](https://img.example.org/s.svg)

Ledgerline reconciles bank statements against your invoices. It flags payments that match
no invoice and suggests the most likely one.

## Installation

```bash
pip install ledgerline
ledgerline init
```

## Features

- **Receipt capture**: turns photos of paper receipts into rows of a spreadsheet.
- **Currency handling**: converts foreign payments at the rate of the booking day.
- Exports to CSV and to the two most common accounting formats
- Install it with `pip install ledgerline` in any virtualenv.
- [Docs](https://docs.example.org) | [Chat](https://chat.example.org)
- Star us on GitHub if it saves you time!

## Reports

Monthly reports show income, spending and open invoices per customer.

## Reconciliation

Ledgerline reconciles bank statements against your invoices. It flags payments that match
no invoice and suggests the most likely one.

## License

MIT License. See LICENSE for details.
"""


def test_same_input_same_output() -> None:
    assert decompose(README) == decompose(README)


def test_splits_by_heading_and_bullet_and_names_them() -> None:
    caps = decompose(README)
    names = [c["name"] for c in caps]
    assert names[:3] == ["Ledgerline", "Receipt capture", "Currency handling"]
    assert "Reports" in names  # a specific heading with one chunk names it
    assert "Features" not in names  # a generic heading does not
    by_name = {c["name"]: c for c in caps}
    assert by_name["Receipt capture"]["description"].startswith("Turns photos of paper receipts")
    assert "Exports to CSV" in " ".join(c["description"] for c in caps)


def test_drops_badges_install_commands_links_and_licence() -> None:
    text = " ".join(c["description"] + " " + c["name"] for c in decompose(README))
    for noise in ("pip install", "ledgerline init", "img.example.org", "Docs", "Star us", "MIT", "LICENSE"):
        assert noise not in text


def test_merges_near_duplicates_by_token_overlap() -> None:
    caps = decompose(README)
    reconcile = [c for c in caps if "reconciles bank statements" in c["description"]]
    assert len(reconcile) == 1 and reconcile[0]["name"] == "Ledgerline"  # the earlier one is kept
    assert "Reconciliation" not in [c["name"] for c in caps]


def test_keys_are_unique_and_valid() -> None:
    text = ("## Search\nFinds files by name across drives.\n"
            "## Search\nSearches inside PDF text and office documents.")
    caps = decompose(text)
    assert [c["key"] for c in caps] == ["search", "search-2"]
    for cap in decompose(README):
        Capability.model_validate(cap)


def test_embeddings_merge_paraphrases_that_token_overlap_misses() -> None:
    text = ("- **Receipts**: turns photos of paper receipts into rows of a spreadsheet.\n"
            "- **Scanning**: converts pictures of paper receipts into spreadsheet rows.\n"
            "- **Scheduling**: schedules social media posts for the whole week.\n")
    assert [c["name"] for c in decompose(text)] == ["Receipts", "Scanning", "Scheduling"]
    embedder = load_embedder(Settings().index.model_path())
    merged = decompose(text, embed=embedder.encode)
    assert [c["name"] for c in merged] == ["Receipts", "Scheduling"]
    assert decompose(text, embed=embedder.encode) == merged


def test_embed_callable_and_threshold() -> None:
    def fake_embed(texts: list[str]) -> np.ndarray:
        # texts about receipts point one way, everything else another
        return np.array([[1.0, 0.0] if "receipt" in t.lower() else [0.0, 1.0] for t in texts])

    text = ("- **One**: reads a receipt and books the expense.\n"
            "- **Two**: files every receipt under the right project.\n"
            "- **Three**: reminds you about unpaid invoices each Monday.\n")
    assert [c["key"] for c in decompose(text, embed=fake_embed)] == ["one", "three"]
    assert len(decompose(text, embed=fake_embed, threshold=1.01)) == 3


def test_long_text_is_chunked_and_capped() -> None:
    subjects = ["Workers", "Schedulers", "Auditors", "Uploaders", "Indexers", "Mailers", "Watchers",
                "Parsers"]
    verbs = ["compress", "encrypt", "validate", "translate", "summarise", "archive", "tag", "resize"]
    objects = ["invoices", "photos", "contracts", "recordings", "spreadsheets", "emails", "videos", "logs"]
    text = " ".join(f"{s} {v} incoming {o} overnight and report {i} problems." for i, (s, v, o) in
                    enumerate(zip(subjects, verbs, objects)))
    assert len(decompose(text, target_chars=150, max_capabilities=10)) == 4  # two sentences a chunk
    caps = decompose(text, target_chars=150, max_capabilities=3)
    assert len(caps) == 3 and caps[0]["description"].startswith("Workers compress")
    assert all(len(c["description"]) <= 2000 for c in caps)


def test_nothing_but_boilerplate_gives_nothing() -> None:
    assert decompose("") == []
    assert decompose("[![build](https://x.example/b.svg)](https://x.example)\n\nnpm install thing\n") == []


def test_leading_words_and_slugify() -> None:
    assert leading_words("Agent4Rec is a simulator with 1,000 agents, built on MovieLens") == (
        "Agent4Rec is a simulator with 1,000 agents")
    assert len(leading_words("word " * 40)) <= 60
    assert slugify("Café  Crème: v2.1!") == "cafe-creme-v2-1"
    assert slugify("Café v2.1", dots=True) == "cafe-v2.1"


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=600))
def test_any_text_gives_valid_capabilities(text: str) -> None:
    caps = decompose(text)
    assert caps == decompose(text)
    keys = [c["key"] for c in caps]
    assert len(keys) == len(set(keys))
    for cap in caps:
        assert re.match(KEY_PATTERN, cap["key"]) and 0 < len(cap["name"]) <= 60
        Capability.model_validate(cap)


def test_only_whole_boilerplate_headings_drop_their_section() -> None:
    text = ("## Support for PDFs\nReads scanned PDF files and extracts their tables.\n"
            "## Support\nAsk questions in the forum or open a ticket with the team.\n")
    assert [c["name"] for c in decompose(text)] == ["Support for PDFs"]
