"""One model thread that embeds the queries waiting for it together, in one batch.

A model run for one short query is mostly the fixed cost of reading the weights (about
17 MB) through the CPU once; eight queries in one run cost about four times one, not eight
times. So under load, when several searches wait for the model at once, they share a run,
and the model keeps to one core, leaving the others to the code around it. When one query
is asked several times while it is waiting, it is embedded once.

``submit`` returns a ``concurrent.futures.Future``: a thread waits on ``result()``, an
asyncio caller awaits ``asyncio.wrap_future``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future

import numpy as np

logger = logging.getLogger(__name__)


class QueryBatcher:
    def __init__(
        self,
        encode: Callable[[list[Hashable], list[str]], np.ndarray],
        max_batch: int = 8,
        warm_up: Callable[[], None] | None = None,
        name: str = "query-model",
    ):
        """``encode(keys, texts)`` returns one vector per text; ``warm_up`` runs first on the
        model thread (OpenVINO, for one, plans each new input shape on its first run)."""
        self._encode = encode
        self._max_batch = max_batch
        self._warm_up = warm_up
        self._waiting: dict[Hashable, tuple[str, Future[np.ndarray]]] = {}
        self._ready = threading.Condition()
        self._closed = False
        self.runs = 0  # model runs so far, and the queries they embedded: tests and stats
        self.embedded = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, key: Hashable, text: str) -> Future[np.ndarray]:
        """The vector of ``text``, soon; ``key`` identifies it (equal keys, equal vectors)."""
        with self._ready:
            if self._closed:
                raise RuntimeError("the query model thread has stopped")
            waiting = self._waiting.get(key)
            if waiting is not None:
                return waiting[1]
            future: Future[np.ndarray] = Future()
            self._waiting[key] = (text, future)
            self._ready.notify()
            return future

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify()
        self._thread.join(timeout=10)

    def _take(self) -> list[tuple[Hashable, str, Future[np.ndarray]]] | None:
        with self._ready:
            while not self._waiting and not self._closed:
                self._ready.wait()
            if self._closed and not self._waiting:
                return None
            keys = list(self._waiting)[: self._max_batch]
            return [(key, *self._waiting[key]) for key in keys]

    def _run(self) -> None:
        if self._warm_up is not None:
            try:
                self._warm_up()
            except Exception:  # a failed warm-up only makes the first searches slower
                logger.exception("warming up the query model failed")
        while (batch := self._take()) is not None:
            keys = [key for key, _, _ in batch]
            try:
                vectors = self._encode(keys, [text for _, text, _ in batch])
            except BaseException as exc:  # every waiting caller hears of it, none hangs
                self._finish(batch, None, exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                self._finish(batch, vectors, None)

    def _finish(self, batch: Sequence[tuple[Hashable, str, Future[np.ndarray]]],
                vectors: np.ndarray | None, error: BaseException | None) -> None:
        with self._ready:
            for key, _, _ in batch:
                del self._waiting[key]
            self.runs += 1
            self.embedded += len(batch)
        for i, (_, _, future) in enumerate(batch):
            if error is not None:
                future.set_exception(error)
            else:
                assert vectors is not None
                future.set_result(vectors[i])
