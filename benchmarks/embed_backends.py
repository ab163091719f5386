"""Embedding backends: throughput and retrieval quality, printed as figures.

    python benchmarks/embed_backends.py                    # every variant
    python benchmarks/embed_backends.py --variants onnx:256 onnx-int8:128

For each backend:max_tokens variant it prints texts/s on 1,000 SciFact documents (long,
most over 128 word pieces) and on 1,000 short needs (the default catalog's intents), and
SciFact test nDCG@10 (dense and hybrid) through the real `matchgraph eval` path.
Needs ../shared/data/scifact.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matchgraph.engine.catalog.manifests import load_manifests  # noqa: E402
from matchgraph.engine.evaluation.beir import evaluate_beir, read_jsonl  # noqa: E402
from matchgraph.engine.settings import Settings  # noqa: E402
from matchgraph.index.embedding.embedder import load_embedder  # noqa: E402

SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
VARIANTS = ["torch:256", "onnx:256", "onnx-int8:256", "openvino:256", "openvino-int8:256", "onnx:128"]


def throughput(backend: str, max_tokens: int, texts: list[str]) -> float:
    s = Settings()
    embedder = load_embedder(s.index.model_path(), 16, backend, s.index.resolved_cache_dir(), max_tokens)
    embedder.encode(texts[:8])  # warm up
    start = time.perf_counter()
    embedder.encode(texts, batch_size=64)
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--variants", nargs="*", default=VARIANTS)
    parser.add_argument("--no-quality", action="store_true", help="Only measure throughput.")
    args = parser.parse_args()
    if not SCIFACT.exists():
        sys.exit(f"{SCIFACT} is absent: this benchmark reads the shared SciFact data")
    docs = read_jsonl(SCIFACT / "corpus.jsonl")[:1000]
    long_texts = [f"{d['title']}. {d['text']}" for d in docs]
    catalog = load_manifests([ROOT / "data" / "catalog"]).artifacts
    short = sorted({i for a in catalog for c in a.capabilities for i in c.intents})[:1000]
    rows = []
    for variant in args.variants:
        backend, tokens = variant.split(":")
        long_rate = throughput(backend, int(tokens), long_texts)
        short_rate = throughput(backend, int(tokens), short)
        row = {"variant": variant, "long_per_s": round(long_rate, 1), "short_per_s": round(short_rate, 1)}
        if not args.no_quality:
            settings = Settings(embed_backend=backend, max_tokens=int(tokens))
            report = evaluate_beir(SCIFACT / "corpus.jsonl", SCIFACT / "queries.jsonl",
                                   SCIFACT / "qrels" / "test.tsv", ["dense", "hybrid"], settings)
            row["dense_ndcg10"] = round(report["modes"]["dense"]["ndcg@10"], 4)
            row["hybrid_ndcg10"] = round(report["modes"]["hybrid"]["ndcg@10"], 4)
        rows.append(row)
        print(json.dumps(row), flush=True)
    base = rows[0]
    print("\nvariant          long docs/s  short/s  speed-up(long)  dense nDCG@10  hybrid nDCG@10")
    for r in rows:
        print(f"{r['variant']:<16} {r['long_per_s']:>11} {r['short_per_s']:>8} "
              f"{r['long_per_s'] / base['long_per_s']:>14.2f}x {r.get('dense_ndcg10', '-'):>14} "
              f"{r.get('hybrid_ndcg10', '-'):>15}")


if __name__ == "__main__":
    main()
