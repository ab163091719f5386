"""Approximate dense search at scale: recall@10 against exact search, latency, memory, build.

    python benchmarks/ann_scale.py                      # 1,000,000 vectors, flat vs HNSW vs IVF
    python benchmarks/ann_scale.py --n 200000 --kinds hnsw

Vectors are made from real embeddings: about 2,000 sentences and needs from the default
catalog are embedded with the bundled model, and each generated vector is the normalised
sum of three of them plus a little noise, so the data has the clustered shape of real
capability embeddings (uniform random vectors would flatter nobody). Queries are built
the same way from a disjoint pool. Recall@10 is measured against exact (flat) search
over the same vectors; latency is one query at a time, as a server answers.
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import sys
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matchgraph.engine.catalog.manifests import load_manifests  # noqa: E402
from matchgraph.engine.settings import Settings  # noqa: E402
from matchgraph.index.dense import build_dense  # noqa: E402
from matchgraph.index.embedding.embedder import load_embedder  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pool_vectors() -> tuple[np.ndarray, np.ndarray]:
    catalog = load_manifests([ROOT / "data" / "catalog"]).artifacts
    texts = sorted({
        s.strip() for a in catalog for c in a.capabilities
        for s in [*re.split(r"(?<=[.!?])\s+", c.description), *c.intents] if len(s.strip()) > 20
    })
    s = Settings()
    ix = s.index
    embedder = load_embedder(ix.model_path(), 16, ix.embed_backend, ix.resolved_cache_dir(), ix.max_tokens)
    vectors = embedder.encode(texts, batch_size=64)
    rng = np.random.default_rng(1)
    order = rng.permutation(len(vectors))
    cut = int(len(order) * 0.8)
    return vectors[order[:cut]], vectors[order[cut:]]


def compose(pool: np.ndarray, n: int, rng: np.random.Generator, chunk: int = 100_000) -> np.ndarray:
    out = np.empty((n, pool.shape[1]), dtype=np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        picks = rng.integers(0, len(pool), size=(m, 3))
        block = pool[picks].sum(axis=1) + rng.normal(0, 0.05, size=(m, pool.shape[1])).astype(np.float32)
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--kinds", nargs="*", default=["hnsw", "ivf"])
    parser.add_argument("--hnsw-m", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=80)
    args = parser.parse_args()

    train_pool, query_pool = pool_vectors()
    rng = np.random.default_rng(7)
    data = compose(train_pool, args.n, rng)
    queries = compose(query_pool, args.queries, rng)
    ids = np.arange(args.n, dtype=np.int64)
    print(f"{args.n:,} vectors x {data.shape[1]} dims ({data.nbytes / 2**20:.0f} MB), "
          f"{args.queries} queries; RSS {rss_mb():.0f} MB")

    t = time.perf_counter()
    exact = build_dense("flat", ids, data)
    truth_scores, truth = exact.search(queries, 10)
    flat_ms: list[float] = []
    for q in queries[:200]:
        s = time.perf_counter()
        exact.search(q[None, :], 10)
        flat_ms.append((time.perf_counter() - s) * 1000)
    print(f"flat : exact top-10 for all queries in {time.perf_counter() - t:.1f} s; one query p50 "
          f"{statistics.median(flat_ms):.2f} ms p99 {np.percentile(flat_ms, 99):.2f} ms")
    del exact, truth_scores

    for kind in args.kinds:
        before = rss_mb()
        t = time.perf_counter()
        index = build_dense(kind, ids, data, hnsw_m=args.hnsw_m, ef_construction=args.ef_construction)
        build_s = time.perf_counter() - t
        grown = rss_mb() - before
        sweep = [64, 128, 256] if kind == "hnsw" else [32, 64, 128, 256]
        for knob_value in sweep:
            if kind == "hnsw":
                index.ef_search = knob_value
                knob = f"M={args.hnsw_m} efC={args.ef_construction} efSearch={knob_value}"
            else:
                index.nprobe = knob_value
                nlist = faiss.extract_index_ivf(index.index).nlist
                knob = f"nlist={nlist} nprobe={knob_value}"
            latencies = []
            found = np.empty((len(queries), 10), dtype=np.int64)
            for i, q in enumerate(queries):
                s = time.perf_counter()
                _, got = index.search(q[None, :], 10)
                latencies.append((time.perf_counter() - s) * 1000)
                found[i] = got[0]
            recall = np.mean([len(set(found[i]) & set(truth[i])) / 10 for i in range(len(queries))])
            print(f"{kind:<5}: recall@10 {recall:.4f}  p50 {statistics.median(latencies):.2f} ms  "
                  f"p99 {np.percentile(latencies, 99):.2f} ms  build {build_s:.0f} s  "
                  f"memory +{grown:.0f} MB  ({knob})", flush=True)
        del index
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
