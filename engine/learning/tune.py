"""Fine-tune the embedding model on training pairs, on the CPU, into a new model directory.

The loss is multiple-negatives ranking (as sentence-transformers' MultipleNegativesRankingLoss):
in a batch, each need must score its chosen capability above every other capability in the batch
— the others' positives and every hard negative. A capability that is also right for a need (the
same capability chosen for two needs of one batch) is not counted against it.

The result is a complete sentence-transformers directory, served through the same backends as
the bundled model (the ONNX/OpenVINO export happens on first load, in the model cache). Its
``matchgraph_learned.json`` names the weights' hash, so the directory has a fingerprint of its
own (``model_fingerprint`` reads small JSON files whole, large files by size only, and a
fine-tuned model has the same sizes as its base): an index built with it is kept apart, and the
re-index job re-embeds everything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from matchgraph.engine.learning.pairs import Pair

logger = logging.getLogger(__name__)
MARKER = "matchgraph_learned.json"
SCALE = 20.0  # sentence-transformers' default for cosine similarities in this loss


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != MARKER:
            digest.update(str(path.relative_to(folder)).encode())
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def fine_tune(
    base: Path, pairs: list[Pair], texts: dict[str, str], out: Path, *, epochs: int = 1,
    batch_size: int = 16, rate: float = 2e-5, max_tokens: int = 128, negatives: int = 1,
    frozen_layers: int = 3, seed: int = 0, progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Train a copy of the model in ``base`` on ``pairs`` and save it to ``out`` (a new folder,
    written aside and renamed into place). Returns what the marker file records.

    ``negatives``: hard negatives used per pair (each costs a text through the model);
    ``frozen_layers``: the word embeddings and this many lower transformer layers keep their
    weights, so the backward pass stops early (on two cores, most of a step's time)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    if out.exists():
        raise FileExistsError(f"{out} exists already")
    usable = [p for p in pairs if p.positive in texts]
    if len(usable) < 2:
        raise ValueError("fine-tuning needs at least two pairs whose capabilities are known")
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
    model.max_seq_length = max_tokens
    frozen = _freeze_lower_layers(model, frozen_layers)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=rate)
    steps = epochs * ((len(usable) + batch_size - 1) // batch_size)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))

    # sentence-transformers 5+ calls it ``preprocess``; 3 and 4 ``tokenize``
    prepare = getattr(model, "preprocess", None) or model.tokenize

    def embed(batch: list[str]) -> Any:
        features = prepare(batch)
        return model(features)["sentence_embedding"]

    done = 0
    losses: list[float] = []
    for _ in range(epochs):
        order = usable[:]
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            if len(batch) < 2:
                continue
            columns = [p.positive for p in batch]
            columns += [n for p in batch for n in p.negatives[:negatives] if n in texts and n not in columns]
            queries = embed([p.query for p in batch])
            docs = embed([texts[c] for c in columns])
            queries = torch.nn.functional.normalize(queries, dim=-1)
            docs = torch.nn.functional.normalize(docs, dim=-1)
            scores = SCALE * queries @ docs.T
            # another need's positive that is this need's positive too is no negative for it
            same = torch.tensor([[c == p.positive and j != i for j, c in enumerate(columns)]
                                 for i, p in enumerate(batch)])
            scores = scores.masked_fill(same, float("-inf"))
            loss = torch.nn.functional.cross_entropy(scores, torch.arange(len(batch)))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            losses.append(float(loss.detach()))
            done += 1
            if progress is not None:
                progress(done, steps)
    model.eval()
    tmp = out.parent / f".{out.name}.{uuid.uuid4().hex}"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        model.save(str(tmp))
        info = {"base": str(base), "pairs": len(usable), "epochs": epochs, "batch_size": batch_size,
                "rate": rate, "max_tokens": max_tokens, "negatives": negatives, "frozen_layers": frozen,
                "steps": done,
                "first_loss": round(losses[0], 4) if losses else None,
                "last_loss": round(sum(losses[-5:]) / len(losses[-5:]), 4) if losses else None,
                "weights_sha256": _digest(tmp)}
        (tmp / MARKER).write_text(json.dumps(info, indent=2), encoding="utf-8")
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("fine-tuned %s on %d pairs (%d steps) into %s", base, len(usable), done, out)
    return info


def _freeze_lower_layers(model: Any, layers: int) -> int:
    """Freeze the word embeddings and the lowest ``layers`` transformer layers (a BERT-like
    encoder, as MiniLM); returns how many layers were frozen (0 when the model is not one)."""
    encoder = getattr(model[0], "auto_model", None)
    blocks = getattr(getattr(encoder, "encoder", None), "layer", None)
    if encoder is None or blocks is None or layers <= 0:
        return 0
    layers = min(layers, len(blocks) - 1)
    for parameter in encoder.embeddings.parameters():
        parameter.requires_grad = False
    for block in blocks[:layers]:
        for parameter in block.parameters():
            parameter.requires_grad = False
    return layers
