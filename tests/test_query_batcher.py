from __future__ import annotations

import threading
from collections.abc import Hashable
from concurrent.futures import Future

import numpy as np
import pytest

from matchgraph.index.embedding.query_batcher import QueryBatcher


class GatedModel:
    """Encodes a text as [len(text)]; its first run waits until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.batches: list[list[str]] = []

    def __call__(self, keys: list[Hashable], texts: list[str]) -> np.ndarray:
        self.started.set()
        self.gate.wait(10)
        self.batches.append(list(texts))
        if "boom" in texts:
            raise ValueError("the model failed")
        return np.array([[float(len(t))] for t in texts])


def busy_batcher(first_text: str, max_batch: int = 8) -> tuple[GatedModel, QueryBatcher, Future[np.ndarray]]:
    """A batcher whose model is held in its run for ``first_text``: what is submitted next waits."""
    model = GatedModel()
    batcher = QueryBatcher(model, max_batch=max_batch)
    first = batcher.submit(first_text, first_text)
    assert model.started.wait(10)
    return model, batcher, first


def test_queries_waiting_while_the_model_runs_share_the_next_run() -> None:
    model, batcher, first = busy_batcher("a", max_batch=4)
    waiting = [batcher.submit(t, t) for t in ("bb", "ccc", "dddd", "eeeee", "ffffff")]
    model.gate.set()
    assert [f.result(10)[0] for f in [first, *waiting]] == [1, 2, 3, 4, 5, 6]
    assert model.batches == [["a"], ["bb", "ccc", "dddd", "eeeee"], ["ffffff"]]  # cut at max_batch
    assert (batcher.runs, batcher.embedded) == (3, 6)
    batcher.close()


def test_a_query_asked_again_while_waiting_is_embedded_once() -> None:
    model, batcher, _ = busy_batcher("first")
    one, two = batcher.submit("k", "same words"), batcher.submit("k", "same words")
    assert one is two
    model.gate.set()
    assert one.result(10)[0] == len("same words")
    assert model.batches == [["first"], ["same words"]]
    batcher.close()


def test_a_failed_run_fails_every_query_in_it_and_the_thread_goes_on() -> None:
    model, batcher, _ = busy_batcher("first")
    failing = [batcher.submit(t, t) for t in ("boom", "innocent")]
    model.gate.set()
    for future in failing:
        with pytest.raises(ValueError, match="the model failed"):
            future.result(10)
    assert batcher.submit("later", "later").result(10)[0] == 5
    batcher.close()
    with pytest.raises(RuntimeError, match="stopped"):
        batcher.submit("after", "after")


def test_the_warm_up_runs_on_the_model_thread_before_any_query() -> None:
    order: list[str] = []

    def warm_up() -> None:
        order.append(f"warm up on {threading.current_thread().name}")

    def encode(keys: list[Hashable], texts: list[str]) -> np.ndarray:
        order.append(f"run on {threading.current_thread().name}")
        return np.zeros((len(texts), 1))

    batcher = QueryBatcher(encode, warm_up=warm_up, name="model-thread")
    batcher.submit("q", "q").result(10)
    assert order == ["warm up on model-thread", "run on model-thread"]
    batcher.close()
