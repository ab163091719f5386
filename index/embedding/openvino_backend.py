"""OpenVINO backend for the embedder: the locally exported ONNX graph, compiled for this CPU.

Where the CPU has bfloat16 instructions (AVX512-BF16 or AMX) the graph runs in bfloat16;
its vectors then agree with torch's to a cosine of about 0.99997. ``quantized`` loads the
statically calibrated int8 export instead: int8 products for the linear layers, the rest
as above.

Batches (indexing) go through an asynchronous queue with one stream per core. Queries use
a second compilation: one stream on one thread (with an infer request per calling thread).
A server has one model thread (``index.query_batcher``), and a query run split over two
threads took 50% longer there: the half that waited for a core held the other up, layer
after layer, while the event loop used that core. Query batches hold one padded length
(``query_batches``), are cut at 8 and padded to 1, 2, 4 or 8 rows: OpenVINO plans (about
25 ms) and keeps (about 10 MB) every input shape it meets, so the shapes are few, and
``warm_up`` plans the common ones before a search needs them.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from matchgraph.index.embedding.cpu import has_avx512
from matchgraph.index.embedding.onnx_backend import (
    MAX_TOKENS,
    QUERY_PAD,
    batching_keeps_rows,
    exported_model,
    in_order,
    load_tokenizer,
    query_batches,
    tokenized_batches,
)

QUERY_ROWS = (1, 2, 4, 8)


def padded_rows(feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The batch with its last row repeated up to the next size in ``QUERY_ROWS``."""
    rows = len(feeds["input_ids"])
    target = next(n for n in QUERY_ROWS if n >= rows)
    if target == rows:
        return feeds
    return {name: np.concatenate([a, np.repeat(a[-1:], target - rows, axis=0)])
            for name, a in feeds.items()}


def inference_precision(core: Any) -> str:
    """bfloat16 where the CPU has it, unless oneDNN is told to keep below AVX-512
    (``ONEDNN_MAX_CPU_ISA``, as on a CPU without it), where bfloat16 kernels are absent."""
    if not has_avx512():
        return "f32"
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
        # The batch compilation is made on the first ``encode`` and let go by
        # ``release_batch_buffers`` when the index job is done: its buffers for 64 texts of 256
        # word pieces, one set per stream, held 870 MB of a server that had built its index at
        # start (1.3 GB resident against 440 MB without).
        self._compile_batch_model = lambda: core.compile_model(model, "CPU", {
            "PERFORMANCE_HINT": "THROUGHPUT", "INFERENCE_PRECISION_HINT": precision,
            "INFERENCE_NUM_THREADS": cores,
        })
        self._batch_model: Any = None
        self._batch_lock = threading.Lock()
        self.query_model = core.compile_model(model, "CPU", {
            "NUM_STREAMS": 1, "INFERENCE_NUM_THREADS": 1, "INFERENCE_PRECISION_HINT": precision,
        })
        self._requests = threading.local()
        self._async_queue = ov.AsyncInferQueue
        # Lengths in steps of 16 word pieces: OpenVINO re-plans for every new input shape, and
        # a one-query run took half the time once shapes repeated (padding is masked out).
        self.tokenizer = load_tokenizer(tokenizer_file, max_tokens, pad_to_multiple_of=QUERY_PAD)
        # Without AVX-512 the int8 kernels for a run of several rows differ from the one-row
        # kernels with the texts (cosine down to 0.993 to the query alone), and a run of
        # eight cost eight runs of one there: so queries run alone. With AVX-512 they agree
        # (0.9999998), which is checked here too, and eight cost about four.
        self.query_rows = QUERY_ROWS[-1] if has_avx512() else 1
        if self.query_rows > 1 and not batching_keeps_rows(self.encode_queries):
            self.query_rows = 1
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
        chunks = [(idx, request.infer(padded_rows(feeds))[0][: len(idx)].copy())
                  for idx, feeds in query_batches(self.tokenizer, texts, self.query_rows)]
        return in_order(chunks, len(texts))

    def warm_up(self) -> None:
        """Plan the query shapes most searches use (up to 30 word pieces) on this thread's request."""
        for text in ("warm up", "warm up " * 10):  # padded to 16 and 32 word pieces
            for rows in QUERY_ROWS:
                if rows <= self.query_rows:
                    self.encode_queries([f"{text} {n}" for n in range(rows)])

    def release_batch_buffers(self) -> None:
        with self._batch_lock:
            self._batch_model = None

    def encode(self, texts: list[str], batch_size: int, show_progress: bool) -> np.ndarray:
        chunks: list[tuple[list[int], np.ndarray]] = []
        with self._batch_lock:
            if self._batch_model is None:
                self._batch_model = self._compile_batch_model()
            batch_model = self._batch_model
        queue = self._async_queue(batch_model)
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
