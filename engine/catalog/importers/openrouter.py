"""OpenRouter's model list (``GET https://openrouter.ai/api/v1/models``) as ``model`` manifests.

One artifact per model. The slug is the model id with ``/`` (and ``:``) turned into ``-``;
the maintainer is the id's prefix. Pricing comes from the per-token prices (USD strings):

* prompt price > 0: ``paid``, ``starting_price`` = the prompt price per "prompt token";
* prompt price 0 but another price > 0 (image models bill per output image token):
  ``paid`` with that price as the starting price, and no free tier;
* every price 0: ``free`` with ``free_tier``;
* prompt price -1 (OpenRouter's routers, whose cost is that of the model they pick):
  ``usage-based``.

Capabilities: the description through the decomposer, one per kind of output (text
generation with its context length, images, embeddings, speech, ...), one per kind of
understood input (images, video, audio, files), and one per notable supported parameter
(tool calling, structured JSON output, step-by-step reasoning, web search). Their text is
written here from templates filled with the model's own facts, including its price in
words so that a need like "a cheap model" can match: up to $0.50 per million prompt
tokens is "cheap", up to $3 "moderately priced", above that "premium-priced".
"""

from __future__ import annotations

from typing import Any

from matchgraph.engine.catalog.decompose import Embed, clip, decompose, first_sentence
from matchgraph.engine.catalog.importers._common import (
    date_from_unix,
    labels,
    make_slug,
    mapping,
    prune,
    text_of,
    unique_keys,
)

_OTHER_PRICES = (
    ("completion", "completion token"), ("image_output", "output image token"),
    ("image_token", "image token"), ("image", "input image"), ("audio", "audio token"),
    ("request", "request"), ("web_search", "web search"),
)

# output modality -> (key, name, category, description template, intents)
_OUTPUTS: dict[str, tuple[str, str, str, str, list[str]]] = {
    "text": ("text-generation", "Text generation and chat", "text-generation",
             "{m} answers prompts and carries on conversations in text. It reads {inputs} and "
             "takes up to {ctx} tokens of context in one request.",
             ["chat with a language model", "generate or rewrite text from a prompt"]),
    "image": ("image-generation", "Image generation", "image-generation",
              "{m} draws new images from a written prompt{edit}.",
              ["generate images from a text prompt", "create illustrations or product pictures"]),
    "video": ("video-generation", "Video generation", "video-generation",
              "{m} produces short video clips from a prompt{edit}.",
              ["generate a video clip from a description"]),
    "embeddings": ("embeddings", "Embeddings for semantic search", "embeddings",
                   "{m} turns {inputs} into vectors, so that similar meanings land close together: "
                   "the building block of semantic search, clustering and retrieval for RAG. "
                   "Inputs may be up to {ctx} tokens long.",
                   ["embed documents for semantic search", "build a retrieval index for RAG"]),
    "transcription": ("speech-to-text", "Speech to text", "speech-to-text",
                      "{m} listens to recorded audio and writes down what was said.",
                      ["transcribe audio recordings to text", "caption spoken content"]),
    "speech": ("text-to-speech", "Text to speech", "text-to-speech",
               "{m} reads text aloud, synthesising natural-sounding speech.",
               ["turn text into spoken audio", "give an app a voice"]),
    "audio": ("audio-generation", "Audio output", "audio-generation",
              "{m} can answer with generated audio as well as text.",
              ["generate spoken or audio replies"]),
    "rerank": ("reranking", "Relevance reranking", "reranking",
               "{m} scores how well each candidate document ({inputs}) answers a query, so a "
               "search or RAG pipeline can put the best passages first.",
               ["rerank search results by relevance", "improve retrieval quality in RAG"]),
}
# input modality (for models that answer in text) -> (key, name, description, intents)
_INPUTS: dict[str, tuple[str, str, str, list[str]]] = {
    "image": ("image-understanding", "Image understanding",
              "{m} looks at pictures next to the prompt: it can describe photos, read screenshots "
              "and charts, and answer questions about what an image shows.",
              ["ask questions about an image", "extract text and data from screenshots"]),
    "video": ("video-understanding", "Video understanding",
              "{m} accepts video as input and can summarise or answer questions about a clip.",
              ["summarise a video", "answer questions about video content"]),
    "audio": ("audio-understanding", "Audio understanding",
              "{m} accepts audio in the prompt and can reason about speech and sounds in it.",
              ["ask questions about an audio recording"]),
    "file": ("file-input", "Document and file input",
             "{m} takes files such as PDFs as part of the prompt, so documents can be read, "
             "summarised and queried without converting them first.",
             ["summarise a PDF", "answer questions about a document"]),
}
# supported parameter(s) -> (key, name, description, intents, tag)
_PARAMETERS: list[tuple[set[str], str, str, str, list[str], str]] = [
    ({"tools", "tool_choice"}, "tool-calling", "Tool calling",
     "{m} can decide to call functions you describe and returns the call and its arguments as "
     "structured data, which lets an agent act through your APIs ({ctx} tokens of context).",
     ["call functions or tools from an LLM", "build an agent that uses APIs"], "tool-calling"),
    ({"structured_outputs", "response_format"}, "structured-output", "Structured JSON output",
     "{m} can be made to answer in JSON that follows a schema you give, so replies can be "
     "parsed by a program without fragile text scraping.",
     ["get JSON output that matches a schema", "extract structured data with an LLM"],
     "structured-output"),
    ({"reasoning", "include_reasoning"}, "reasoning", "Step-by-step reasoning",
     "{m} can think through a problem step by step before it answers, and the reasoning can be "
     "returned or its effort tuned; useful for maths, code and multi-step planning.",
     ["solve a hard problem with a reasoning model", "plan multi-step tasks"], "reasoning"),
    ({"web_search_options"}, "web-search", "Web search grounding",
     "{m} can search the web while answering and ground its reply in current pages.",
     ["answer questions with up-to-date web results"], "web-search"),
]


def _price(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _pricing(prices: Any) -> dict[str, Any]:
    prices = prices if isinstance(prices, dict) else {}
    raw = prices.get("prompt", "0")
    prompt = _price(raw)
    if prompt is None:  # leave the raw value where validation will name it
        return {"model": "paid", "starting_price": {"amount": raw, "unit": "prompt token", "currency": "USD"}}
    if prompt < 0:
        return {"model": "usage-based", "free_tier": False}
    if prompt > 0:
        return {"model": "paid", "free_tier": False,
                "starting_price": {"amount": prompt, "unit": "prompt token", "currency": "USD"}}
    for field, unit in _OTHER_PRICES:
        amount = _price(prices.get(field))
        if amount is not None and amount > 0:
            return {"model": "paid", "free_tier": False,
                    "starting_price": {"amount": amount, "unit": unit, "currency": "USD"}}
    return {"model": "free", "free_tier": True}


def _price_phrase(pricing: dict[str, Any]) -> str:
    if pricing["model"] == "free":
        return "It is free to use."
    if pricing["model"] == "usage-based":
        return "It costs whatever the model it picks costs."
    start = pricing.get("starting_price") or {}
    amount, unit = start.get("amount"), start.get("unit")
    if not isinstance(amount, float):
        return ""
    if unit != "prompt token":
        return f"It costs ${amount:.6g} per {unit}."
    per_million = amount * 1_000_000
    band = "cheap" if per_million <= 0.5 else "moderately priced" if per_million <= 3 else "premium-priced"
    return f"It is {band} at ${per_million:.2f} per million prompt tokens."


def _words(items: list[str]) -> str:
    items = [{"file": "files"}.get(i, i) for i in items] or ["text"]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _capabilities(entry: dict[str, Any], short: str, embed: Embed | None) -> list[dict[str, Any]]:
    arch = mapping(entry.get("architecture"))
    inputs = labels(arch.get("input_modalities") or ["text"])
    outputs = labels(arch.get("output_modalities") or ["text"])
    ctx = entry.get("context_length")
    price = _price_phrase(_pricing(entry.get("pricing")))
    facts = {
        "m": short, "inputs": _words(inputs),
        "ctx": f"{ctx:,}" if isinstance(ctx, int) else "an unstated number of",
        "edit": " and can also edit or restyle images you supply" if "image" in inputs else "",
    }
    caps: list[dict[str, Any]] = []
    description = text_of(entry.get("description"))
    if description.strip():
        for cap in decompose(description, embed=embed, max_capabilities=2):
            caps.append({**cap, "input_types": inputs, "output_types": outputs})
    for out in outputs:
        if out in _OUTPUTS:
            key, name, _, template, intents = _OUTPUTS[out]
            text = f"{template.format(**facts)} {price}".strip()
            caps.append({"key": key, "name": name, "description": text,
                         "intents": intents, "input_types": inputs, "output_types": [out]})
    if "text" in outputs:
        for modality in inputs:
            if modality in _INPUTS:
                key, name, template, intents = _INPUTS[modality]
                caps.append({"key": key, "name": name, "description": template.format(**facts),
                             "intents": intents, "input_types": [modality], "output_types": ["text"]})
    params = set(entry.get("supported_parameters") or [])
    for wanted, key, name, template, intents, _tag in _PARAMETERS:
        if params & wanted:
            text = template.format(**facts) + (f" {price}" if key == "tool-calling" and price else "")
            caps.append({"key": key, "name": name, "description": text,
                         "intents": intents, "input_types": ["text"], "output_types": ["json"]
                         if key in {"tool-calling", "structured-output"} else ["text"]})
    if not caps:
        caps.append({"key": "model", "name": short,
                     "description": f"{short} is a model served through the OpenRouter API."})
    return unique_keys(caps)


def _artifact(entry: dict[str, Any], seen: set[str], embed: Embed | None) -> dict[str, Any]:
    model_id = entry.get("id")
    if not isinstance(model_id, str) or not model_id.strip():
        return {**prune({"name": entry.get("name")}), "type": "model", "slug": None,
                "capabilities": []}  # validation names the missing slug
    name = str(entry.get("name") or model_id)
    short = name.split(": ", 1)[-1]
    arch = mapping(entry.get("architecture"))
    outputs = arch.get("output_modalities") or ["text"]
    inputs = arch.get("input_modalities") or ["text"]
    categories = [_OUTPUTS[o][2] for o in outputs if o in _OUTPUTS]
    if "image" in inputs and "text" in outputs:
        categories.append("vision")
    params = set(entry.get("supported_parameters") or [])
    tags = [tag for wanted, *_rest, tag in _PARAMETERS if params & wanted]
    variant = model_id.rsplit(":", 1)[1] if ":" in model_id else None
    hf_id = entry.get("hugging_face_id")
    description = text_of(entry.get("description"))
    return prune({
        "slug": make_slug(model_id.lstrip("~").replace("/", "-").replace(":", "-"), seen),
        "name": clip(name, 300),
        "type": "model",
        "maintainer": model_id.lstrip("~").split("/", 1)[0],
        "summary": clip(first_sentence(description), 2000) or None,
        "homepage": f"https://openrouter.ai/{model_id}",
        "repository": f"https://huggingface.co/{hf_id}" if isinstance(hf_id, str) and hf_id else None,
        "pricing": _pricing(entry.get("pricing")),
        "categories": categories,
        "tags": labels([*tags, *([variant] if variant else [])]),
        "updated_at": date_from_unix(entry.get("created")),
        "capabilities": _capabilities(entry, short, embed),
    })


def import_openrouter(document: Any, embed: Embed | None = None) -> list[Any]:
    """Manifest dicts for every model in an OpenRouter ``/api/v1/models`` document.

    Entries that are not objects are passed through unchanged so that validation reports
    them; ``embed`` is handed to the decomposer (None: token-overlap merging).
    """
    # the /api/v1/models answer is an object; a bare list is some other file, not a lenient form
    entries = document.get("data") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("expected an OpenRouter models document: an object with a 'data' list of models")
    seen: set[str] = set()
    return [_artifact(e, seen, embed) if isinstance(e, dict) else e for e in entries]
