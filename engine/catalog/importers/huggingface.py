"""Hugging Face Hub model API JSON as ``model`` manifests.

Accepts what ``GET https://huggingface.co/api/models?...`` returns (a list of model
objects) or one model object (``/api/models/{id}``). Fields used: ``id`` (or ``modelId``),
``author``, ``pipeline_tag``, ``library_name``, ``downloads``, ``likes``, ``tags`` (their
``license:xxx`` entry), ``lastModified``, and ``cardData`` when present (``license``,
``base_model``).

* slug: ``hf-`` + the id with ``/`` turned into ``-``. The prefix keeps a Hub checkpoint
  apart from the same model served through an API (OpenRouter ids look alike but carry
  different pricing);
* pricing: weights on the Hub download for free: ``open-source`` when a licence is
  known, ``free`` otherwise, both with a free tier;
* adoption: downloads (last 30 days) and likes, each a signal whose source is the model page.
  The API does not say when it counted them, so ``as_of`` is set only when the caller
  passes it (importers never read the clock);
* categories: the pipeline tag; tags: the Hub tags minus bookkeeping ones;
* capability: a template per common pipeline tag, filled with the model's name; a
  generic one for the rest.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from matchgraph.engine.catalog.decompose import clip, slugify
from matchgraph.engine.catalog.importers._common import as_list, labels, make_slug, mapping, prune

# pipeline tag -> (name, description template, intents, input types, output types)
_TASKS: dict[str, tuple[str, str, list[str], list[str], list[str]]] = {
    "text-generation": ("Text generation", "{m} continues and answers text prompts: chat, writing, "
                        "summaries and code, depending on how it was trained.",
                        ["generate text with an open model", "run a chat model locally"], ["text"], ["text"]),
    "text2text-generation": ("Text-to-text generation", "{m} rewrites an input text into an output "
                             "text, e.g. translating, summarising or answering.",
                             ["transform text with a sequence-to-sequence model"], ["text"], ["text"]),
    "image-text-to-text": ("Vision-language chat", "{m} answers questions and follows instructions "
                           "about images given together with text.",
                           ["ask questions about an image", "describe a picture"],
                           ["image", "text"], ["text"]),
    "text-to-image": ("Text-to-image generation", "{m} paints an image from a written prompt.",
                      ["generate images from a text prompt"], ["text"], ["image"]),
    "image-to-image": ("Image-to-image editing", "{m} transforms an input picture: restyling, "
                       "upscaling or editing it under guidance.", ["edit or restyle an image"],
                       ["image"], ["image"]),
    "text-to-video": ("Text-to-video generation", "{m} turns a prompt into a short video clip.",
                      ["generate a video from text"], ["text"], ["video"]),
    "automatic-speech-recognition": ("Speech recognition", "{m} transcribes spoken audio into text.",
                                     ["transcribe audio to text", "subtitle recordings"],
                                     ["audio"], ["text"]),
    "text-to-speech": ("Speech synthesis", "{m} reads text aloud as synthetic speech.",
                       ["turn text into speech"], ["text"], ["audio"]),
    "audio-classification": ("Audio classification", "{m} labels audio clips, e.g. by sound event, "
                             "speaker trait or language.", ["classify sounds in audio"],
                             ["audio"], ["label"]),
    "sentence-similarity": ("Sentence embeddings and similarity", "{m} maps sentences to vectors "
                            "so that texts with similar meaning score as similar: semantic search, "
                            "clustering and duplicate detection.",
                            ["embed text for semantic search", "find similar sentences"],
                            ["text"], ["vector"]),
    "feature-extraction": ("Embeddings (feature extraction)", "{m} turns its input into dense "
                           "feature vectors for retrieval, clustering or as input to other models.",
                           ["compute embeddings for retrieval"], ["text"], ["vector"]),
    "text-ranking": ("Reranking", "{m} scores query-passage pairs so the most relevant passages "
                     "come first.", ["rerank search results"], ["text"], ["score"]),
    "fill-mask": ("Masked-token prediction", "{m} predicts hidden words in a sentence; mostly used as "
                  "a base for fine-tuning classifiers and taggers.",
                  ["fine-tune an encoder for a text task"], ["text"], ["text"]),
    "text-classification": ("Text classification", "{m} assigns labels to texts, e.g. sentiment, "
                            "topic or toxicity.", ["classify text", "detect sentiment"], ["text"], ["label"]),
    "zero-shot-classification": ("Zero-shot classification", "{m} sorts texts into labels you "
                                 "name at run time, without training examples.",
                                 ["classify text into custom labels"], ["text"], ["label"]),
    "token-classification": ("Token classification", "{m} tags words in a text, e.g. names of people, "
                             "places and organisations.", ["extract named entities"], ["text"], ["label"]),
    "question-answering": ("Extractive question answering", "{m} finds the span of a passage that "
                           "answers a question.", ["answer questions from a document"], ["text"], ["text"]),
    "summarization": ("Summarisation", "{m} condenses long text into a short summary.",
                      ["summarise a document"], ["text"], ["text"]),
    "translation": ("Translation", "{m} translates text between languages.",
                    ["translate text"], ["text"], ["text"]),
    "image-classification": ("Image classification", "{m} tells which of its known classes a "
                             "picture shows.", ["classify images"], ["image"], ["label"]),
    "zero-shot-image-classification": ("Zero-shot image classification", "{m} matches pictures "
                                       "against labels written at run time.",
                                       ["classify images with custom labels"], ["image", "text"], ["label"]),
    "object-detection": ("Object detection", "{m} finds and boxes the objects in an image.",
                         ["detect objects in photos"], ["image"], ["bounding boxes"]),
    "image-segmentation": ("Image segmentation", "{m} outlines the regions and objects of an image "
                           "pixel by pixel.", ["segment an image"], ["image"], ["mask"]),
    "image-to-text": ("Image captioning", "{m} writes text about an image, such as a caption.",
                      ["caption images"], ["image"], ["text"]),
    "depth-estimation": ("Depth estimation", "{m} estimates how far each pixel of a photo is from "
                         "the camera.", ["estimate depth from a single image"], ["image"], ["image"]),
}


def _license(model: dict[str, Any]) -> str | None:
    for tag in as_list(model.get("tags")):
        if isinstance(tag, str) and tag.startswith("license:"):
            return tag.split(":", 1)[1] or None
    card = mapping(model.get("cardData"))
    found = as_list(card.get("license"))
    return str(found[0]) if found else None


def _tags(model: dict[str, Any]) -> list[str]:
    skip = ("license:", "region:", "base_model:", "dataset:", "arxiv:", "doi:", "deploy:")
    noise = {"endpoints_compatible", "autotrain_compatible", "text-generation-inference"}
    tags = [t for t in as_list(model.get("tags"))
            if isinstance(t, str) and not t.startswith(skip) and t not in noise
            and t != model.get("pipeline_tag")]
    return labels([model.get("library_name"), *tags])


def _artifact(model: dict[str, Any], seen: set[str], as_of: date | None) -> dict[str, Any]:
    model_id = model.get("id") or model.get("modelId")
    if not isinstance(model_id, str) or not model_id.strip():
        return {"slug": None, "name": "?", "type": "model", "capabilities": []}  # validation says why
    short = model_id.rsplit("/", 1)[-1]
    task = model.get("pipeline_tag") if isinstance(model.get("pipeline_tag"), str) else None
    if task in _TASKS:
        name, template, intents, inputs, outputs = _TASKS[task]
    else:
        name = (task or "model").replace("-", " ").capitalize()
        template = "{m} is a " + (f"{task.replace('-', ' ')} " if task else "") + "model whose " \
                   "weights are published on the Hugging Face Hub."
        intents, inputs, outputs = [], [], []
    licence = _license(model)
    card = mapping(model.get("cardData"))
    base = [b for b in as_list(card.get("base_model")) if isinstance(b, str)]
    capability = prune({"key": slugify(task or "") or "model", "name": name,
                        "description": template.format(m=short), "intents": intents,
                        "input_types": inputs, "output_types": outputs})
    page = f"https://huggingface.co/{model_id}"
    day = as_of.isoformat() if as_of else None
    counted = (("hf_downloads_monthly", "downloads"), ("hf_likes", "likes"))
    adoption = {"signals": [prune({"metric": metric, "value": model[field], "source": page, "as_of": day})
                            for metric, field in counted if model.get(field) is not None]}
    author = model.get("author") or (model_id.split("/", 1)[0] if "/" in model_id else None)
    summary = f"{name} model {short}" + (f" by {author}" if author else "") + " on the Hugging Face Hub" + (
        f", derived from {base[0]}." if base else ".")
    return prune({
        "slug": make_slug("hf-" + model_id.replace("/", "-"), seen),
        "name": clip(short, 300),
        "type": "model",
        "maintainer": author,
        "summary": summary,
        "homepage": page,
        "license": licence,
        "pricing": {"model": "open-source" if licence and licence not in {"other", "unknown"} else "free",
                    "free_tier": True},
        "adoption": adoption,
        "categories": labels([task]),
        "tags": _tags(model),
        "updated_at": model.get("lastModified"),
        "capabilities": [capability],
    })


def import_huggingface(document: Any, as_of: date | None = None) -> list[Any]:
    """Manifest dicts for a Hub model list (or one model); non-objects pass through to validation."""
    entries = document if isinstance(document, list) else [document]
    if isinstance(document, dict) and not (document.get("id") or document.get("modelId")):
        raise ValueError("expected a list of Hub model objects or one model object with an 'id'")
    seen: set[str] = set()
    return [_artifact(e, seen, as_of) if isinstance(e, dict) else e for e in entries]
