"""Server memory: resident size of a real `matchgraph serve` on the bundled catalog.

    python benchmarks/memory.py              # a fresh state: the first start ingests and indexes
    python benchmarks/memory.py --searches 500

It starts the server on a throwaway state directory twice: the first start ingests the
bundled catalog and builds the index (the peak of that start is reported too), the second
finds both ready, as every later start does. After each start it reads the server's
resident memory (VmRSS) once it answers /healthz, then after --searches new searches, and
lists the large native libraries the process holds (torch must not be among them: it is
needed to export the model, not to serve it). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load import default_pool, free_port, wait_until_up  # noqa: E402

HEAVY = ("torch", "sentence_transformers", "transformers", "onnx/", "onnxruntime", "openvino", "faiss",
         "scipy", "networkx")


def status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def libraries(pid: int) -> list[str]:
    maps = Path(f"/proc/{pid}/maps").read_text()
    return [name.rstrip("/") for name in HEAVY if f"site-packages/{name}" in maps]


def one_start(state: Path, label: str, searches: list[str]) -> None:
    port = free_port()
    env = {**os.environ, "MATCHGRAPH_DATA_DIR": str(state), "MATCHGRAPH_PORT": str(port),
           "MATCHGRAPH_ANON_RATE_PER_MINUTE": "0"}
    server = subprocess.Popen([sys.executable, "-m", "matchgraph.api.cli.main", "serve"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    began = time.monotonic()
    try:
        if not wait_until_up(base, 600):
            raise SystemExit("the server did not come up")
        ready = time.monotonic() - began
        time.sleep(2)  # the warm-up searches run just after /healthz answers
        rss, peak = status_mb(server.pid, "VmRSS"), status_mb(server.pid, "VmHWM")
        with httpx.Client(base_url=base, timeout=30) as http:
            for q in searches:
                http.get("/v1/search", params={"q": q, "limit": 10})
        after = status_mb(server.pid, "VmRSS")
        print(f"{label}: ready in {ready:.1f} s; resident {rss:.0f} MB after start (peak {peak:.0f} MB), "
              f"{after:.0f} MB after {len(searches)} new searches; native libraries held: "
              f"{', '.join(libraries(server.pid)) or 'none of note'}")
    finally:
        server.terminate()
        server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--searches", type=int, default=300)
    args = parser.parse_args()
    searches = default_pool()[: args.searches]
    with tempfile.TemporaryDirectory(prefix="mg-memory-") as tmp:
        one_start(Path(tmp), "first start (ingest + index)", searches)
        one_start(Path(tmp), "later start", searches)


if __name__ == "__main__":
    main()
