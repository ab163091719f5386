"""OpenVINO backend for the embedder: the locally exported ONNX graph, compiled for this CPU.

Where the CPU has bfloat16 instructions (AVX512-BF16 or AMX) the graph runs in bfloat16;
its vectors then agree with torch's to a cosine of about 0.99997. ``quantized`` loads the
statically calibrated int8 export instead: int8 products for the linear layers, the rest
as above.

Batches (indexing) go through an asynchronous queue with one stream per core. Queries use
a second compilation with one single-threaded stream per core and an infer request per
calling thread, so concurrent searches run side by side instead of queueing.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from index.onnx_backend import MAX_TOKENS, exported_model, in_order, load_tokenizer, tokenized_batches


def inference_precision(core: Any) -> str:
    return "bf16" if "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES") else "f32"


class OpenVinoBackend:
    def __init__(self, model_file: Path, tokenizer_file: Path, max_tokens: int = MAX_TOKENS,
                 threads: int | None = None):
        import openvino as ov

        core = ov.Core()
        model = core.read_model(str(model_file))
        cores = threads or max(1, os.cpu_count() or 1)
        precision = inference_precision(core)
        self.precision = precision
        self.batch_model = core.compile_model(model, "CPU", {
            "PERFORMANCE_HINT": "THROUGHPUT", "INFERENCE_PRECISION_HINT": precision,
            "INFERENCE_NUM_THREADS": cores,
        })
        self.query_model = core.compile_model(model, "CPU", {
            "NUM_STREAMS": cores, "INFERENCE_NUM_THREADS": cores,
            "INFERENCE_PRECISION_HINT": precision,
        })
        self._requests = threading.local()
        self._async_queue = ov.AsyncInferQueue
        # Lengths in steps of 16 word pieces: OpenVINO re-plans for every new input shape, and
        # a one-query run took half the time once shapes repeated (padding is masked out).
        self.tokenizer = load_tokenizer(tokenizer_file, max_tokens, pad_to_multiple_of=16)
        self.dimension = int(self.encode_queries(["probe"]).shape[1])

    @classmethod
    def prepare(cls, model_dir: Path, folder: Path, quantized: bool,
                max_tokens: int = MAX_TOKENS) -> OpenVinoBackend:
        model_file = exported_model(model_dir, folder, "static" if quantized else "none", max_tokens)
        return cls(model_file, model_dir / "tokenizer.json", max_tokens)

    def cache_key(self, text: str) -> tuple[int, ...]:
        return tuple(self.tokenizer.encode(text).ids)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        request = getattr(self._requests, "request", None)
        if request is None:
            request = self._requests.request = self.query_model.create_infer_request()
        chunks = [(idx, request.infer(feeds)[0].copy())
                  for idx, feeds in tokenized_batches(self.tokenizer, texts, max(1, len(texts)))]
        return in_order(chunks, len(texts))

    def encode(self, texts: list[str], batch_size: int, show_progress: bool) -> np.ndarray:
        chunks: list[tuple[list[int], np.ndarray]] = []
        queue = self._async_queue(self.batch_model)
        queue.set_callback(
            lambda request, idx: chunks.append((idx, request.get_output_tensor(0).data.copy()))
        )
        try:
            for idx, feeds in tokenized_batches(self.tokenizer, texts, batch_size):
                queue.start_async(feeds, userdata=idx)
            queue.wait_all()
        finally:
            del queue
        return in_order(chunks, len(texts))
