"""Search latency, indexing throughput and memory, printed as figures (never asserted).

    python benchmarks/search_latency.py                 # default catalog + 100k generated
    python benchmarks/search_latency.py --caps 20000    # a smaller generated catalog
    python benchmarks/search_latency.py --skip-generated

Two throwaway states are built in a temporary folder:

1. the default catalog (data/catalog), embedded for real: indexing throughput is measured
   here, with the real model, from an empty index;
2. a generated catalog of ``--caps`` capabilities (four per artifact). Each capability is
   a random mix of real sentences taken from the default catalog. Embedding 100k texts
   with the model would take a quarter of an hour on two cores, so by default a
   capability's vector is the normalised sum of its sentences' real embeddings
   (``--embed composed``); ``--embed real`` embeds every generated text instead.

Queries are the intents written in the default catalog, run once cold (query embedding
not cached) and once warm (cached). Per-stage times come from the engine's own timers.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.generate import generated, sentences_of  # noqa: E402
from matchgraph.engine.catalog.manifests import load_manifests  # noqa: E402
from matchgraph.engine.facade import Matchgraph  # noqa: E402
from matchgraph.engine.search.searcher import SearchRequest  # noqa: E402
from matchgraph.engine.settings import Settings  # noqa: E402
from matchgraph.index.builder import publish_version  # noqa: E402
from matchgraph.index.lock import JobLock  # noqa: E402

STAGES = ("embed", "retrieve", "rank", "records")  # the engine's own timers (engine.search.searcher)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(mg: Matchgraph, queries: list[str], label: str) -> None:
    """cold: nothing cached; warm: query vectors cached, rankings not (retrieval and fusion
    run); repeat: the same searches again, their rankings from the page cache."""
    mg.embedder.clear_cache()
    mg.pages.clear()
    # as `matchgraph serve` does once it has started: what exists now is never collected, so a
    # full collection does not walk the catalog this benchmark (or a server) holds
    gc.collect()
    gc.freeze()
    pauses: list[float] = []
    began: list[float] = []

    def timed_collection(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began.append(time.perf_counter())
        elif began:
            pauses.append((time.perf_counter() - began.pop()) * 1000)

    gc.callbacks.append(timed_collection)
    for phase in ("cold", "warm", "repeat"):
        if phase == "warm":
            mg.pages.clear()
        totals: list[float] = []
        stages: dict[str, list[float]] = {s: [] for s in STAGES}
        for q in queries:
            t = time.perf_counter()
            result = mg.search(SearchRequest(q, limit=10, record=False))
            totals.append((time.perf_counter() - t) * 1000)
            for s in STAGES:
                stages[s].append(result.timings_ms.get(s, 0.0))
        parts = "  ".join(f"{s} {statistics.median(v):.2f}/{pct(v, 99):.2f}" for s, v in stages.items())
        print(f"  {label:<10} {phase}: total p50 {statistics.median(totals):6.2f} ms  "
              f"p99 {pct(totals, 99):6.2f} ms  | per stage p50/p99 ms: {parts}")
    qps = len(queries) / (sum(totals) / 1000)
    print(f"  {label:<10} repeat throughput, one thread: {qps:.0f} searches/s")
    gc.callbacks.remove(timed_collection)
    gc.unfreeze()
    print(f"  {label:<10} garbage collections while measuring: {len(pauses)}, longest "
          f"{max(pauses, default=0.0):.1f} ms")


def composed_vectors(mg: Matchgraph, cap_ids: list[str], parts: dict[str, list[str]]) -> np.ndarray:
    """Each capability's vector: the normalised sum of the real embeddings of its sentences."""
    pieces = sorted({p for ps in parts.values() for p in ps})
    piece_vec = dict(zip(pieces, mg.embedder.encode(pieces, batch_size=64)))
    out = np.zeros((len(cap_ids), mg.embedder.dimension), dtype=np.float32)
    for i, cap_id in enumerate(cap_ids):
        for piece in parts[cap_id]:
            out[i] += piece_vec[piece]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--caps", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--embed", choices=["composed", "real"], default="composed")
    parser.add_argument("--skip-generated", action="store_true")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    catalog = load_manifests([ROOT / "data" / "catalog"]).artifacts
    sents, intents = sentences_of(catalog)
    queries = rng.sample(intents, min(args.queries, len(intents)))
    with tempfile.TemporaryDirectory(prefix="mg-bench-") as tmp:
        print(f"default catalog: {len(catalog)} artifacts, "
              f"{sum(len(a.capabilities) for a in catalog)} capabilities")
        settings = Settings(data_dir=Path(tmp) / "default", record_matches=False)
        with Matchgraph(settings, record=False) as mg:
            mg.ingest_artifacts(catalog)
            _ = mg.embedder
            t = time.perf_counter()
            manifest = mg.index().manifest
            assert manifest is not None
            took = time.perf_counter() - t
            print(f"  indexing: {manifest.count} capabilities in {took:.1f} s = "
                  f"{manifest.count / took:.0f} capabilities/s (embed + FAISS + BM25 + verify)")
            measure(mg, queries, "default")
            print(f"  peak RSS so far: {peak_rss_mb():.0f} MB")
            if args.skip_generated:
                return
            embedder = mg.embedder

        print(f"generated catalog: {args.caps} capabilities ({args.embed} vectors)")
        big, parts = generated(args.caps, sents, intents, rng)
        settings = Settings(data_dir=Path(tmp) / "big", record_matches=False)
        with Matchgraph(settings, record=False) as mg:
            t = time.perf_counter()
            mg.ingest_artifacts(big)
            print(f"  ingest: {len(big)} artifacts in {time.perf_counter() - t:.1f} s")
            caps = mg.stores.catalog.indexable_capabilities()
            t = time.perf_counter()
            if args.embed == "real":
                vectors = embedder.encode([c.text for c in caps], batch_size=64)
            else:
                vectors = composed_vectors(mg, [c.cap_id for c in caps], parts)
            embed_s = time.perf_counter() - t
            t = time.perf_counter()
            with JobLock(settings.index_root) as lock:  # what the index job holds while it builds
                manifest = publish_version(lock, settings.index_root, caps, vectors,
                                           mg.stores.catalog.catalog_hash(), embedder, settings.index,
                                           embedded=len(caps))
            mg.refresh()
            build_s = time.perf_counter() - t
            print(f"  vectors: {embed_s:.1f} s; index build ({manifest.dense_kind}) + BM25 + verify + "
                  f"publish: {build_s:.1f} s")
            measure(mg, queries, f"{args.caps // 1000}k")
            print(f"  peak RSS: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
