"""ONNX Runtime backend for the embedder: export once, locally, then run without torch.

The export wraps the transformer with mean pooling and L2 normalisation so the graph's
output is the sentence embedding itself. It is written to a fresh folder that is renamed
into place, so a crash mid-export never leaves a half-written model behind.

Three exports exist (``Quantization``): plain fp32; ``dynamic`` int8 weights for ONNX
Runtime; and ``static`` int8 in QDQ form for OpenVINO, whose activation ranges are calibrated
on ``calibration.txt`` (sentences from the bundled catalog, shipped with the package so the
same export always gives the same vectors).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

logger = logging.getLogger(__name__)
MODEL_FILE = "model.onnx"
MAX_TOKENS = 256
CALIBRATION_FILE = Path(__file__).with_name("calibration.txt")
Quantization = Literal["none", "dynamic", "static"]
# In each layer the feed-forward output projection reads GELU activations with a long tail;
# int8 ranges fitted to them cost most of the quality, so those products stay in float.
_KEEP_FLOAT = re.compile(r"layer\.\d+/output/dense/MatMul")


def calibration_digest() -> str:
    return hashlib.sha256(CALIBRATION_FILE.read_bytes()).hexdigest()[:8]


def load_tokenizer(tokenizer_file: Path, max_tokens: int, pad_to_multiple_of: int | None = None) -> Any:
    """The model's fast tokenizer, truncating at ``max_tokens`` and padding each batch."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_truncation(max_tokens)
    tokenizer.enable_padding(pad_to_multiple_of=pad_to_multiple_of)
    return tokenizer


def tokenized_batches(
    tokenizer: Any, texts: list[str], batch_size: int
) -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
    """Model inputs in batches of similar length (less padding), with their positions in ``texts``."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for start in range(0, len(texts), batch_size):
        idx = order[start : start + batch_size]
        encoded = tokenizer.encode_batch([texts[i] for i in idx])
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        yield idx, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


QUERY_PAD = 16  # a query is padded to a multiple of this many word pieces, alone or batched


def query_batches(
    tokenizer: Any, texts: list[str], max_rows: int
) -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
    """Model inputs for queries: each text padded to its own length (a multiple of
    ``QUERY_PAD``), and only texts of one padded length share a run, at most ``max_rows``.

    So a query's vector never depends on what else was asked at the same moment: padding a
    short query to a long neighbour's length changed its vector (cosine 0.9996 on an
    AVX2-only CPU, where other kernels serve long inputs), and the rows of one run are
    otherwise computed alike.
    """
    groups: dict[int, list[tuple[int, Any]]] = {}
    for i, text in enumerate(texts):
        encoded = tokenizer.encode(text)
        groups.setdefault(len(encoded.ids), []).append((i, encoded))
    for members in groups.values():
        for start in range(0, len(members), max_rows):
            chunk = members[start : start + max_rows]
            ids = np.array([e.ids for _, e in chunk], dtype=np.int64)
            mask = np.array([e.attention_mask for _, e in chunk], dtype=np.int64)
            yield ([i for i, _ in chunk],
                   {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})


ROW_TOLERANCE = 0.99999  # cosine a batched row must keep to the same query run alone
_ROW_PROBES = [f"find a tool number {n} that turns speech into text" for n in range(8)] + [
    f"an assistant number {n} that reads long contracts, finds the clauses about payment terms "
    "and liability, and writes a short summary a lawyer can check quickly" for n in range(8)]


def batching_keeps_rows(encode: Callable[[list[str]], np.ndarray]) -> bool:
    """Whether queries sharing a run (eight of each of two lengths) get the vectors each gets
    alone, on this CPU.

    Where AVX-512 is present OpenVINO's int8 kernels do (cosine 0.9999998); limited to AVX2
    they do not (0.993), and there a run of eight costs eight runs of one anyway. A backend
    that fails this runs each query alone."""
    together = encode(_ROW_PROBES)
    alone = np.concatenate([encode([p]) for p in _ROW_PROBES])
    return bool((np.sum(together * alone, axis=1) > ROW_TOLERANCE).all())


def in_order(chunks: list[tuple[list[int], np.ndarray]], count: int) -> np.ndarray:
    """Put batch outputs back in the order of the texts they came from."""
    dim = chunks[0][1].shape[1] if chunks else 0
    out = np.zeros((count, dim), dtype=np.float32)
    for idx, vectors in chunks:
        out[idx] = vectors
    return out


def _quantize_static(fp32: Path, out: Path, tokenizer_file: Path, max_tokens: int) -> None:
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    tokenizer = load_tokenizer(tokenizer_file, max_tokens)
    texts = [t for t in CALIBRATION_FILE.read_text(encoding="utf-8").splitlines() if t.strip()]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = (feeds for _, feeds in tokenized_batches(tokenizer, texts, 16))

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    graph = onnx.load(str(fp32))
    weights = {init.name for init in graph.graph.initializer}
    # only the linear layers (a constant weight); attention's activation x activation stays float
    nodes = [n.name for n in graph.graph.node
             if n.op_type == "MatMul" and any(i in weights for i in n.input)
             and not _KEEP_FLOAT.search(n.name)]
    quantize_static(
        str(fp32), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_quantize=nodes,
    )


def _export(model_dir: Path, target: Path, quantize: Quantization, max_tokens: int) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    transformer: torch.nn.Module = st[0].auto_model  # type: ignore[assignment]
    transformer.eval()

    class Pooled(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            hidden = self.inner(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=1)

    sample = st.tokenizer(["an example sentence", "two"], return_tensors="pt", padding=True)
    axes = {"batch": 0, "tokens": 1}
    dynamic = {k: {axes["batch"]: "batch", axes["tokens"]: "tokens"}
               for k in ("input_ids", "attention_mask", "token_type_ids")}
    dynamic["embedding"] = {0: "batch"}
    fp32 = target / ("fp32.onnx" if quantize != "none" else MODEL_FILE)
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(transformer),
            (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
            str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding"],
            dynamic_axes=dynamic,
            opset_version=17,
            dynamo=False,
        )
    if quantize != "none":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if quantize == "dynamic":
                quantize_dynamic(str(fp32), str(target / MODEL_FILE), weight_type=QuantType.QInt8)
            else:
                _quantize_static(fp32, target / MODEL_FILE, model_dir / "tokenizer.json", max_tokens)
        fp32.unlink()
    meta: dict[str, Any] = {"source": str(model_dir), "quantized": quantize}
    if quantize == "static":
        meta["calibration"] = calibration_digest()
    (target / "export.json").write_text(json.dumps(meta), encoding="utf-8")


def exported_model(
    model_dir: Path, folder: Path, quantize: Quantization, max_tokens: int = MAX_TOKENS
) -> Path:
    """The exported graph in ``folder``, exporting it first if it is missing."""
    if not (folder / MODEL_FILE).exists():
        logger.info("exporting %s to ONNX in %s (quantization: %s)", model_dir, folder, quantize)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.parent / f".tmp-{folder.name}-{uuid.uuid4().hex[:6]}"
        tmp.mkdir()
        try:
            _export(model_dir, tmp, quantize, max_tokens)
            if not (folder / MODEL_FILE).exists():  # another process may have won
                if folder.exists():
                    shutil.rmtree(folder)
                os.rename(tmp, folder)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
    return folder / MODEL_FILE


class OnnxBackend:
    def __init__(self, model_file: Path, tokenizer_file: Path, threads: int | None = None,
                 max_tokens: int = MAX_TOKENS, dynamic_ranges: bool = False):
        import onnxruntime as ort

        def session(intra_op_threads: int) -> ort.InferenceSession:
            options = ort.SessionOptions()
            options.intra_op_num_threads = intra_op_threads
            options.log_severity_level = 3
            return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])

        # Batches (indexing) use every core; queries run one thread each, so concurrent
        # requests share the cores instead of fighting over them (same weights, same vectors).
        self.session = session(threads or max(1, os.cpu_count() or 1))
        self.query_session = session(1)
        self.tokenizer = load_tokenizer(tokenizer_file, max_tokens)
        self.query_tokenizer = load_tokenizer(tokenizer_file, max_tokens, pad_to_multiple_of=QUERY_PAD)
        # Dynamic int8 fits its activation ranges to the whole input of a run, so a query
        # sharing a run with others moved (cosine 0.977): there each query runs alone.
        self.query_rows = 1
        if not dynamic_ranges and batching_keeps_rows(self._queries_in_runs_of(8)):
            self.query_rows = 8
        self.dimension = int(self.encode(["probe"], 1, False).shape[1])

    @classmethod
    def prepare(
        cls, model_dir: Path, folder: Path, quantize: bool, max_tokens: int = MAX_TOKENS
    ) -> OnnxBackend:
        """Load the exported graph from ``folder``, exporting it first if it is missing."""
        model_file = exported_model(model_dir, folder, "dynamic" if quantize else "none", max_tokens)
        return cls(model_file, model_dir / "tokenizer.json", max_tokens=max_tokens, dynamic_ranges=quantize)

    def cache_key(self, text: str) -> tuple[int, ...]:
        return tuple(self.tokenizer.encode(text).ids)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._queries_in_runs_of(self.query_rows)(texts)

    def _queries_in_runs_of(self, rows: int) -> Callable[[list[str]], np.ndarray]:
        def encode(texts: list[str]) -> np.ndarray:
            runs = query_batches(self.query_tokenizer, texts, rows)
            return in_order([(idx, self.query_session.run(None, feeds)[0]) for idx, feeds in runs],
                            len(texts))
        return encode

    def encode(self, texts: list[str], batch_size: int, show_progress: bool) -> np.ndarray:
        return self._run(self.session, texts, batch_size)

    def _run(self, session: Any, texts: list[str], batch_size: int) -> np.ndarray:
        batches = tokenized_batches(self.tokenizer, texts, batch_size)
        return in_order([(idx, session.run(None, feeds)[0]) for idx, feeds in batches], len(texts))
