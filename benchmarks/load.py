"""Load and soak test of /v1/search against a real `matchgraph serve` on 127.0.0.1.

    python benchmarks/load.py                          # 60 s as fast as 16 clients go
    python benchmarks/load.py --duration 60 --rate 150 --clients 32   # the serving target
    python benchmarks/load.py --duration 1800 --rate 75  # the 30-minute soak at half rate
    python benchmarks/load.py --queries needs.txt --repeat-share 0.5

It builds a throwaway state from the default catalog, starts the server in a subprocess
(rate limits off: this is one machine hammering itself), drives it with an asyncio aiohttp
client for a fixed time, and prints throughput, p50/p99 latency and errors.

The queries do not flatter the server: by default most are text it has never seen, so
each needs its own model run (no vector or page cache helps). The pool is public query
sets from ../shared/data (SciFact claims and paper titles, APIBench instructions) and the
catalog's own needs, shuffled; a request repeats an earlier query of the run with
probability --repeat-share (0.2), else takes the next unseen one. Latency is reported for
the new and the repeated stream apart. Some requests carry a type filter, some are in
upper case. Afterwards it
waits for the match writer and checks that the searches recorded in SQLite equal the
searches answered. With --rate it paces requests and samples the server's memory and open
files every 10 s (a soak). Only loopback addresses are used; the run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matchgraph.engine.catalog.manifests import load_manifests  # noqa: E402

TYPES = ["model", "api", "repo", "mcp", "framework", "cli", "app", "agent"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SHARED = ROOT.parent / "shared" / "data"


def _short(text: str, limit: int = 300) -> str:
    """At most ``limit`` characters, cut at a word (the server takes up to 500)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0]


def _jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def default_pool() -> list[str]:
    """Public query sets (when ../shared/data is here) and the catalog's needs, shuffled."""
    catalog = load_manifests([ROOT / "data" / "catalog"]).artifacts
    texts = {i for a in catalog for c in a.capabilities for i in c.intents}
    scifact = SHARED / "scifact"
    if scifact.exists():
        texts |= {str(q["text"]) for q in _jsonl(scifact / "queries.jsonl")}
        texts |= {str(d["title"]) for d in _jsonl(scifact / "corpus.jsonl") if d.get("title")}
    for name in ("torchhub_train.json", "torchhub_eval.json", "tensorflow_eval.json"):
        path = SHARED / "apibench" / name
        if path.exists():
            for item in _jsonl(path):
                found = re.search(r"###Instruction:(.*?)###Output", str(item.get("code", "")), re.S)
                if found:
                    texts.add(found.group(1))
    pool = sorted({_short(t) for t in texts if len(t.strip()) >= 2})
    random.Random(7).shuffle(pool)
    return pool


def pool_from(path: Path) -> list[str]:
    """One need per line, or JSON lines with a "text", "query" or "need" field."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            item = json.loads(line)
            line = str(item.get("text") or item.get("query") or item.get("need") or "")
        if len(line.strip()) >= 2:
            found.append(_short(line))
    if not found:
        raise SystemExit(f"{path} holds no queries")
    return found


class QueryStream:
    """New queries in pool order; with probability ``repeat_share`` one asked before instead."""

    def __init__(self, pool: list[str], repeat_share: float, seed: int = 11):
        self._pool, self._next, self._asked = pool, 0, list[str]()
        self._seen: set[str] = set()
        self._repeat_share = repeat_share
        self._rng = random.Random(seed)
        self.exhausted = False

    def take(self) -> tuple[str, bool]:
        """A query, and whether this run has asked it before."""
        if self._asked and self._rng.random() < self._repeat_share:
            q = self._rng.choice(self._asked)
        else:
            if self._next >= len(self._pool):
                self._next, self.exhausted = 0, True
            q = self._pool[self._next]
            self._next += 1
        repeat = q in self._seen
        if not repeat:
            self._seen.add(q)
            self._asked.append(q)
        return q, repeat


def wait_until_up(base: str, seconds: float) -> bool:
    """Whether the server at ``base`` answers /healthz with 200 within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process, its running worker processes and the
    children it has waited for."""
    ticks = 0
    for p in [pid, *children(pid)]:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def stolen_ticks() -> int:
    """CPU ticks the hypervisor gave to others (steal, from /proc/stat): a virtual machine's
    noise, which no server change can remove."""
    return int(Path("/proc/stat").read_text().split("\n", 1)[0].split()[8])


def proc_stats(pid: int) -> tuple[float, int]:
    """Memory (MB) and open files of the server and its worker processes together."""
    pids = [pid, *children(pid)]
    rss, fds = 0.0, 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as fh:
                rss += next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 1024
            fds += len(os.listdir(f"/proc/{p}/fd"))
        except (FileNotFoundError, StopIteration):
            continue
    return rss, fds


async def drive(base: str, duration: float, clients: int, rate: float | None, stream: QueryStream,
                pid: int) -> tuple[list[float], dict[int, int], list[tuple[float, float, int]],
                                   list[float], list[float], list[bool], int]:
    latencies: list[float] = []
    repeats: list[bool] = []  # per request: was its query asked before in this run
    unmatched = [0]  # answered with no artifact
    started_at: list[float] = []  # seconds into the run, per request
    failures: list[str] = []
    codes: dict[int, int] = {}
    samples: list[tuple[float, float, int]] = []
    lags: list[float] = []
    rng = random.Random(11)
    start = time.monotonic()
    deadline = start + duration
    interval = clients / rate if rate else 0.0

    async def client(http: aiohttp.ClientSession, n: int) -> None:
        next_at = time.monotonic() + (n * interval / clients if rate else 0)
        while time.monotonic() < deadline:
            if rate:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                next_at += interval
            q, repeat = stream.take()
            params = {"q": q.upper() if rng.random() < 0.1 else q, "limit": "10"}
            if rng.random() < 0.2:
                params["type"] = rng.choice(TYPES)
            t = time.perf_counter()
            started_at.append(time.monotonic() - start)
            try:
                async with http.get("/v1/search", params=params) as r:
                    body = await r.read()
                    status = r.status
                if status == 200 and b'"items":[]' in body:
                    unmatched[0] += 1  # "nothing fits": answered, and by design not recorded
            except (aiohttp.ClientError, TimeoutError) as exc:
                status = 0
                failures.append(f"{type(exc).__name__}: {exc}"[:200])
            latencies.append((time.perf_counter() - t) * 1000)
            repeats.append(repeat)
            codes[status] = codes.get(status, 0) + 1

    async def lag_monitor() -> None:
        """How late this client's own loop wakes up: delay the client adds to what it measures."""
        while time.monotonic() < deadline:
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append((time.perf_counter() - t - 0.005) * 1000)

    async def sampler() -> None:
        while time.monotonic() < deadline:
            rss, fds = proc_stats(pid)
            samples.append((time.monotonic() - start, rss, fds))
            await asyncio.sleep(10)

    # aiohttp parses responses in C: about 0.5 ms of CPU a request where httpx took 2.2 ms,
    # CPU this one-machine benchmark would otherwise take from the server it measures.
    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=clients),
                                     timeout=aiohttp.ClientTimeout(total=30)) as http:
        await asyncio.gather(sampler(), lag_monitor(), *(client(http, n) for n in range(clients)))
    for failure in failures[:5]:
        print(f"client error: {failure}")
    return latencies, codes, samples, started_at, lags, repeats, unmatched[0]


def percentiles(latencies: list[float]) -> str:
    if not latencies:
        return "none"
    xs = sorted(latencies)
    return (f"{len(xs)} searches, p50 {statistics.median(xs):.1f} ms, "
            f"p99 {xs[int(0.99 * (len(xs) - 1))]:.1f} ms")


def windows(latencies: list[float], started_at: list[float], width: float = 10.0) -> str:
    """p50/p99 per window of the run, to tell a cold start or a stall from steady state."""
    by: dict[int, list[float]] = {}
    for lat, at in zip(latencies, started_at):
        by.setdefault(int(at // width), []).append(lat)
    parts = []
    for w in sorted(by):
        xs = sorted(by[w])
        parts.append(f"{w * width:.0f}s: {statistics.median(xs):.0f}/{xs[int(0.99 * (len(xs) - 1))]:.0f}")
    return "  ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=float, default=None, help="Requests per second in total (paced).")
    parser.add_argument("--workers", type=int, default=1, help="Server processes.")
    parser.add_argument("--window", type=float, default=None,
                        help="Seconds per p50/p99 window (default 10, or 120 for runs over 5 minutes).")
    parser.add_argument("--queries", type=Path, default=None,
                        help="Needs to ask, one per line (or JSON lines with a text field); default: "
                             "public query sets and the catalog's needs.")
    parser.add_argument("--repeat-share", type=float, default=0.2,
                        help="Share of requests that repeat a query asked earlier in the run.")
    args = parser.parse_args()
    if not 0 <= args.repeat_share <= 1:
        parser.error("--repeat-share is a share between 0 and 1")
    pool = pool_from(args.queries) if args.queries else default_pool()
    stream = QueryStream(pool, args.repeat_share)
    print(f"query pool: {len(pool)} distinct texts; repeat share {args.repeat_share}")
    with tempfile.TemporaryDirectory(prefix="mg-load-") as tmp:
        port = free_port()
        env = {**os.environ, "MATCHGRAPH_DATA_DIR": tmp, "MATCHGRAPH_ANON_RATE_PER_MINUTE": "0",
               "MATCHGRAPH_PORT": str(port)}
        log = open(Path(tmp) / "server.log", "w+")  # noqa: SIM115 (a file, not a pipe nobody reads; closed below)
        server = subprocess.Popen([sys.executable, "-m", "matchgraph.api.cli.main", "serve", "--workers",
                                   str(args.workers)], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            if not wait_until_up(base, 300):
                log.seek(0)
                raise SystemExit("the server did not come up:\n" + log.read()[-3000:])
            before = httpx.get(f"{base}/healthz").json()["searches"]
            t = time.monotonic()
            server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
            steal = stolen_ticks()
            latencies, codes, samples, started_at, lags, repeats, unmatched = asyncio.run(
                drive(base, args.duration, args.clients, args.rate, stream, server.pid))
            took = time.monotonic() - t
            steal = stolen_ticks() - steal
            server_cpu = cpu_seconds(server.pid) - server_cpu
            client_cpu = time.process_time() - client_cpu
            for _ in range(100):  # let the match writer catch up
                if httpx.get(f"{base}/healthz").json()["pending_matches"] == 0:
                    break
                time.sleep(0.1)
        finally:
            server.terminate()
            server.wait(timeout=60)
            log.close()
        answered = codes.get(200, 0) - unmatched  # a search answered with nothing records nothing
        with sqlite3.connect(Path(tmp) / "matchgraph.db") as db:
            recorded = db.execute("SELECT COUNT(*) FROM searches").fetchone()[0] - before
        errors = sum(n for code, n in codes.items() if code != 200)
        ordered = sorted(latencies)
        print(f"{len(latencies)} searches in {took:.1f} s with {args.clients} clients"
              f"{f' paced at {args.rate}/s' if args.rate else ''}: {len(latencies) / took:.1f} searches/s")
        p99 = ordered[int(0.99 * (len(ordered) - 1))]
        print(f"latency p50 {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms; "
              f"errors {errors} {codes if errors else ''}")
        print("  new queries:      " + percentiles([x for x, r in zip(latencies, repeats) if not r]))
        print("  repeated queries: " + percentiles([x for x, r in zip(latencies, repeats) if r]))
        if stream.exhausted:
            print("  (the pool ran out: queries after that were repeats of the run's first ones)")
        width = args.window or (10.0 if args.duration <= 300 else 120.0)
        print(f"p50/p99 ms by {width:.0f}-second window: {windows(latencies, started_at, width)}")
        print(f"answered with no artifact (nothing fits, not recorded): {unmatched}")
        print(f"recorded in SQLite: {recorded} of {answered} searches answered with artifacts"
              f" ({'all' if recorded == answered else 'MISMATCH'})")
        n = max(1, len(latencies))
        print(f"CPU per search: server {server_cpu / n * 1000:.2f} ms, this load client "
              f"{client_cpu / n * 1000:.2f} ms ({os.cpu_count()} cores, {took:.0f} s)")
        lags.sort()
        lag99 = lags[int(0.99 * (len(lags) - 1))]
        print(f"client loop lag p50 {statistics.median(lags):.1f} ms, p99 {lag99:.1f} ms"
              f" (delay the client adds); CPU time stolen by the hypervisor: "
              f"{steal / os.sysconf('SC_CLK_TCK') / (took * (os.cpu_count() or 1)) * 100:.1f}%")
        if samples:
            rss = [s[1] for s in samples]
            fds = [s[2] for s in samples]
            quarters = " → ".join(f"{rss[int(q * (len(rss) - 1))]:.0f}" for q in (0, 0.25, 0.5, 0.75, 1))
            print(f"server memory at 0/25/50/75/100% of the run: {quarters} MB")
            print(f"server memory: first {rss[0]:.0f} MB, last {rss[-1]:.0f} MB, max {max(rss):.0f} MB; "
                  f"open files: first {fds[0]}, last {fds[-1]}, max {max(fds)} ({len(samples)} samples)")


if __name__ == "__main__":
    main()
