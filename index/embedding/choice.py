"""Choose the embedding backend by measuring it on the machine it runs on (``auto``).

Which backend is fastest depends on the CPU: OpenVINO's int8 kernels were 2.6x torch on a CPU
with AVX-512 VNNI and BF16, and 0.95x torch on one with AVX2 only, where ONNX Runtime was the
fastest. So at first start each candidate is timed on a small fixed sample (short queries one
at a time, as a server runs them, and long texts in a batch, as the index job does), its
vectors are compared with torch's, and the fastest one that passes the quality gate is used.

The gate: mean cosine to torch's vectors at least ``MIN_MEAN_COSINE`` on the sample, and, for
the bundled model, a SciFact hybrid nDCG@10 recorded by ``benchmarks/embed_backends.py`` of at
least ``MIN_SCIFACT``. The choice, every timing and the reasons are written to a small JSON
record beside the exported models, keyed by the model, the token window and the CPU (model
name and the instruction sets that decide the kernels), so the next start reads it in
milliseconds and a different machine measures again.

The measurement runs in a child process: torch and the ONNX exporter are needed to measure
and to export, not to serve, and a server that imported them would keep them in memory.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from matchgraph.index.embedding.cpu import cpu_features, cpu_model
from matchgraph.index.errors import MatchgraphError

logger = logging.getLogger(__name__)
CANDIDATES = ("torch", "onnx", "onnx-int8", "openvino", "openvino-int8")
MIN_MEAN_COSINE = 0.99
MIN_SCIFACT = 0.71
# SciFact test, hybrid nDCG@10, by ``benchmarks/embed_backends.py`` for the bundled model
# (all-MiniLM-L6-v2, 256 word pieces); see the README's embedding table.
RECORDED_SCIFACT = {"torch": 0.7137, "onnx": 0.7137, "onnx-int8": 0.7030, "openvino": 0.7137,
                    "openvino-int8": 0.7145}
_LIBRARIES = ("torch", "onnxruntime", "openvino")


class BackendChoiceFailed(MatchgraphError):
    """Measuring the backends did not finish."""


@dataclass
class Timing:
    backend: str
    query_ms: float | None = None  # median time for one short query, run alone
    long_per_s: float | None = None  # long texts per second, in batches of 16
    mean_cosine: float | None = None  # to torch's vectors, over the whole sample
    scifact: float | None = None
    eligible: bool = False
    reason: str = ""


@dataclass
class BackendChoice:
    backend: str
    signature: dict[str, object]
    measured_at: str
    seconds: float
    timings: list[Timing] = field(default_factory=list)

    @classmethod
    def from_json(cls, text: str) -> BackendChoice:
        raw = json.loads(text)
        raw["timings"] = [Timing(**t) for t in raw.get("timings", [])]
        return cls(**raw)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def summary(self) -> str:
        by_name = {t.backend: t for t in self.timings}
        torch_ms = by_name["torch"].query_ms if "torch" in by_name else None
        chosen = by_name.get(self.backend)
        if chosen is None or not torch_ms or not chosen.query_ms:
            return f"embedding backend {self.backend}"
        return (f"embedding backend {self.backend}: {chosen.query_ms:.1f} ms a query "
                f"({torch_ms / chosen.query_ms:.2f}x torch) on {self.signature.get('cpu')}")


def _library_versions() -> dict[str, str]:
    found = {}
    for name in _LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "absent"
    return found


def signature(model_fingerprint: str, max_tokens: int) -> dict[str, object]:
    """What a measurement depends on; a record with another signature is measured again."""
    return {"model": model_fingerprint, "max_tokens": max_tokens, "cpu": cpu_model(),
            "features": list(cpu_features()), "cores": os.cpu_count() or 1,
            "libraries": _library_versions()}


def record_path(folder: Path, model_fingerprint: str, max_tokens: int) -> Path:
    return folder / f"backend-choice-{model_fingerprint}-t{max_tokens}.json"


def read_choice(path: Path, expected: dict[str, object]) -> BackendChoice | None:
    """The recorded choice if it was measured for this model, window and machine."""
    try:
        choice = BackendChoice.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return choice if choice.signature == expected and choice.backend in CANDIDATES else None


def choose_backend(model_dir: Path, cache_dir: Path, max_tokens: int, bundled: bool,
                   record_dir: Path | None = None, remeasure: bool = False) -> BackendChoice:
    """The recorded choice for this machine, measuring it first (in a child process) if absent."""
    from matchgraph.index.embedding.embedder import model_fingerprint

    fingerprint = model_fingerprint(model_dir)
    expected = signature(fingerprint, max_tokens)
    path = record_path(record_dir or cache_dir, fingerprint, max_tokens)
    choice = None if remeasure else read_choice(path, expected)
    if choice is None:
        logger.warning("measuring the embedding backends on this CPU (%s); once per machine",
                       expected["cpu"])
        command = [sys.executable, "-m", "matchgraph.index.embedding.choice", "--model-dir",
                   str(model_dir), "--cache-dir", str(cache_dir), "--max-tokens", str(max_tokens),
                   "--record", str(path)] + (["--bundled"] if bundled else [])
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        choice = read_choice(path, expected)
        if done.returncode != 0 or choice is None:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise BackendChoiceFailed(f"measuring the embedding backends failed: {tail[0]}; "
                                      "set MATCHGRAPH_EMBED_BACKEND to one of "
                                      f"{', '.join(CANDIDATES)} to skip the measurement")
    logger.info(choice.summary())
    return choice


def resolve_backend(backend: str, model_dir: Path, cache_dir: Path, max_tokens: int, bundled: bool) -> str:
    """The backend to load: the one named, or for ``auto`` the one measured on this machine."""
    if backend != "auto":
        return backend
    return choose_backend(model_dir, cache_dir, max_tokens, bundled).backend


def _sample() -> tuple[list[str], list[str]]:
    """Fixed texts: 32 short needs and 16 long texts (batches of 8), from the shipped calibration file."""
    from matchgraph.index.embedding.onnx_backend import CALIBRATION_FILE

    lines = [t for t in CALIBRATION_FILE.read_text(encoding="utf-8").splitlines() if t.strip()]
    short = [" ".join(line.split()[:8]) for line in lines[:32]]
    long = [" ".join(lines[i : i + 6]) for i in range(32, 32 + 16 * 6, 6)]
    return short, long


def _time_backend(embedder: object, short: list[str], long: list[str],
                  budget: float = 3.0) -> tuple[float, float, np.ndarray]:
    """Median time of a short query alone (within about ``budget`` seconds) and long texts/s."""
    backend = embedder.backend  # type: ignore[attr-defined]
    backend.encode_queries(short[:4])  # first runs plan shapes and fill caches
    backend.encode(long[:2], 16, False)
    times: list[float] = []
    began = time.perf_counter()
    for text in short * 2:
        start = time.perf_counter()
        backend.encode_queries([text])
        times.append(time.perf_counter() - start)
        if len(times) >= 8 and start - began > budget:
            break
    start = time.perf_counter()
    long_vectors = backend.encode(long, 8, False)  # two batches: one per stream on two cores
    long_rate = len(long) / (time.perf_counter() - start)
    vectors = np.concatenate([backend.encode_queries(short), long_vectors])
    return statistics.median(times) * 1000, long_rate, vectors


def measure(model_dir: Path, cache_dir: Path, max_tokens: int, bundled: bool) -> BackendChoice:
    from matchgraph.index.embedding.embedder import Embedder, model_fingerprint

    began = time.perf_counter()
    short, long = _sample()
    timings: list[Timing] = []
    reference: np.ndarray | None = None
    for name in CANDIDATES:  # torch first: it is the reference the others are held to
        timing = Timing(name, scifact=RECORDED_SCIFACT.get(name) if bundled else None)
        if timing.scifact is not None and timing.scifact < MIN_SCIFACT:
            timing.reason = f"SciFact nDCG@10 under {MIN_SCIFACT} (not timed)"
            timings.append(timing)  # its export and timing would only lengthen the first start
            continue
        try:
            embedder = Embedder(model_dir, 0, name, cache_dir, max_tokens)
            timing.query_ms, timing.long_per_s, vectors = _time_backend(embedder, short, long)
        except Exception as exc:  # a backend that cannot run here is simply not a candidate
            timing.reason = f"could not run: {exc}"
            timings.append(timing)
            continue
        if reference is None:
            reference = vectors
        timing.mean_cosine = float(np.mean(np.sum(vectors * reference, axis=1)))
        if timing.mean_cosine < MIN_MEAN_COSINE:
            timing.reason = f"vectors off torch's (cosine under {MIN_MEAN_COSINE})"
        elif timing.scifact is not None and timing.scifact < MIN_SCIFACT:
            timing.reason = f"SciFact nDCG@10 under {MIN_SCIFACT}"
        else:
            timing.eligible = True
        timings.append(timing)
    chosen = pick(timings)
    return BackendChoice(chosen, signature(model_fingerprint(model_dir), max_tokens),
                         datetime.now(UTC).isoformat(timespec="seconds"),
                         round(time.perf_counter() - began, 1), timings)


def pick(timings: list[Timing]) -> str:
    """The eligible backend with the best geometric mean of its speed-ups over torch on short
    queries and on long texts; one slower than torch on either is not picked over torch."""
    by_name = {t.backend: t for t in timings}
    torch = by_name.get("torch")
    if torch is None or not torch.query_ms or not torch.long_per_s:
        eligible = [t for t in timings if t.eligible and t.query_ms]
        return min(eligible, key=lambda t: t.query_ms or 0).backend if eligible else "torch"
    best, best_score = "torch", 1.0
    for t in timings:
        if not t.eligible or not t.query_ms or not t.long_per_s or t.backend == "torch":
            continue
        short_gain, long_gain = torch.query_ms / t.query_ms, t.long_per_s / torch.long_per_s
        if short_gain < 1.0 or long_gain < 1.0:
            t.reason = t.reason or "slower than torch"
            continue
        score = (short_gain * long_gain) ** 0.5
        if score > best_score:
            best, best_score = t.backend, score
    for t in timings:
        if t.eligible and t.backend != best and not t.reason:
            t.reason = "slower than the one used"
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Measure the embedding backends on this CPU.")
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--record", type=Path, required=True)
    parser.add_argument("--bundled", action="store_true")
    args = parser.parse_args(argv)
    choice = measure(args.model_dir, args.cache_dir, args.max_tokens, args.bundled)
    args.record.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.record.with_name(f".{args.record.name}.{uuid.uuid4().hex[:6]}")
    tmp.write_text(choice.to_json(), encoding="utf-8")
    os.replace(tmp, args.record)  # a reader sees the old record or the whole new one
    print(choice.summary())


if __name__ == "__main__":
    main()
