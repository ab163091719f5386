"""ONNX Runtime backend for the embedder: export once, locally, then run without torch.

The export wraps the transformer with mean pooling and L2 normalisation so the graph's
output is the sentence embedding itself. It is written to a fresh folder that is renamed
into place, so a crash mid-export never leaves a half-written model behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
import warnings
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)
MODEL_FILE = "model.onnx"
MAX_TOKENS = 256


def _export(model_dir: Path, target: Path, quantize: bool) -> None:
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
    fp32 = target / ("fp32.onnx" if quantize else MODEL_FILE)
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
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(str(fp32), str(target / MODEL_FILE), weight_type=QuantType.QInt8)
        fp32.unlink()
    (target / "export.json").write_text(
        json.dumps({"source": str(model_dir), "quantized": quantize}), encoding="utf-8"
    )


class OnnxBackend:
    def __init__(self, model_file: Path, tokenizer_file: Path, threads: int | None = None,
                 max_tokens: int = MAX_TOKENS):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        def session(intra_op_threads: int) -> ort.InferenceSession:
            options = ort.SessionOptions()
            options.intra_op_num_threads = intra_op_threads
            options.log_severity_level = 3
            return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])

        # Batches (indexing) use every core; queries run one thread each, so concurrent
        # requests share the cores instead of fighting over them (same weights, same vectors).
        self.session = session(threads or max(1, os.cpu_count() or 1))
        self.query_session = session(1)
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.enable_padding()
        self.dimension = int(self.encode(["probe"], 1, False).shape[1])

    @classmethod
    def prepare(
        cls, model_dir: Path, folder: Path, quantize: bool, max_tokens: int = MAX_TOKENS
    ) -> OnnxBackend:
        """Load the exported graph from ``folder``, exporting it first if it is missing."""
        if not (folder / MODEL_FILE).exists():
            logger.info("exporting %s to ONNX in %s", model_dir, folder)
            folder.parent.mkdir(parents=True, exist_ok=True)
            tmp = folder.parent / f".tmp-{folder.name}-{uuid.uuid4().hex[:6]}"
            tmp.mkdir()
            try:
                _export(model_dir, tmp, quantize)
                if not (folder / MODEL_FILE).exists():  # another process may have won
                    if folder.exists():
                        shutil.rmtree(folder)
                    os.rename(tmp, folder)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp)
        return cls(folder / MODEL_FILE, model_dir / "tokenizer.json", max_tokens=max_tokens)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._run(self.query_session, texts, max(1, len(texts)))

    def encode(self, texts: list[str], batch_size: int, show_progress: bool) -> np.ndarray:
        return self._run(self.session, texts, batch_size)

    def _run(self, session: object, texts: list[str], batch_size: int) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding per batch
        chunks = []
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            encoded = self.tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            chunks.append((idx, session.run(None, feeds)[0]))  # type: ignore[attr-defined]
        dim = chunks[0][1].shape[1] if chunks else 0
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for idx, vectors in chunks:
            out[idx] = vectors
        return out
