"""How fast the live evidence loop folds new matches into the match graph, with a large log.

    python benchmarks/evidence_fold.py                  # 1,000,000 match rows, then 1,000 new units
    python benchmarks/evidence_fold.py --rows 200000 --new-units 500

A throwaway SQLite database gets ``--rows`` recorded matches (searches of five results each,
from 5,000 clients over 30 days, over 510 artifacts; a unit is one client asking one
normalised query on one day). The log is folded once (the first run after an upgrade does
this), then ``--new-units`` new units are recorded and folded again: that second fold is
what a running server does every ``evidence_refresh_seconds``. Finally the counters are
compared with a full recomputation over the whole log (``engine.evidence.graph.count_units``).
Figures are printed, not asserted; say which CPU they came from (``lscpu``).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from matchgraph.engine.evidence.graph import count_units
from matchgraph.engine.store.records import MatchRow, SearchRecord
from matchgraph.engine.store.sqlite import open_sqlite

ARTIFACTS = 510
PER_SEARCH = 5
TOP_K = 5


def searches(rng: random.Random, count: int, start: int, queries: int) -> list[SearchRecord]:
    """``count`` searches; related artifacts cluster so that pairs repeat as they do for real."""
    day0 = datetime(2026, 11, 1, tzinfo=UTC)
    out = []
    for i in range(start, start + count):
        query = rng.randrange(queries)
        base = (query * 7) % ARTIFACTS
        artifacts = list(dict.fromkeys((base + rng.randrange(12)) % ARTIFACTS + 1 for _ in range(8)))
        rows = tuple(MatchRow(a * 10, a, rank, 1.0 / rank, rank)
                     for rank, a in enumerate(artifacts[:PER_SEARCH], start=1))
        when = day0 + timedelta(days=rng.randrange(30), seconds=rng.randrange(86_400))
        out.append(SearchRecord(f"s{i}", f"need {query}", f"need {query}", when, "bench",
                                f"client-{rng.randrange(5000)}", {}, len(rows), "v1", rows))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--new-units", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="matchgraph-fold-") as tmp:
        stores = open_sqlite(Path(tmp) / "bench.db")
        log = stores.matchlog
        total = args.rows // PER_SEARCH
        t = time.perf_counter()
        for start in range(0, total, 20_000):
            log.record_searches(searches(rng, min(20_000, total - start), start, queries=20_000))
        print(f"recorded {log.sizes()[1]:,} match rows in {time.perf_counter() - t:.1f} s")

        t = time.perf_counter()
        first = log.fold_evidence(TOP_K)
        print(f"first fold of the whole log: {time.perf_counter() - t:.2f} s "
              f"({first.units:,} units, {len(first.pairs):,} pairs)")

        # new units: new queries from new clients, so each is a unit never seen before
        fresh = searches(rng, args.new_units, total, queries=20_000)
        fresh = [SearchRecord(s.search_id, s.query + " new", s.normalized_query + " new", s.created_at,
                              s.source, s.client_hash, s.filters, s.result_count, s.index_version,
                              s.matches) for s in fresh]
        log.record_searches(fresh)
        t = time.perf_counter()
        second = log.fold_evidence(TOP_K)
        fold_s = time.perf_counter() - t
        print(f"fold of {args.new_units:,} new units ({args.new_units * PER_SEARCH:,} rows): "
              f"{fold_s * 1000:.0f} ms; units now {second.units:,}")

        t = time.perf_counter()
        full = count_units(log.match_units(TOP_K))
        full_s = time.perf_counter() - t
        same = (full.units, full.appearances, full.pairs) == (second.units, second.appearances, second.pairs)
        print(f"full recomputation over the log: {full_s:.2f} s; agrees with the incremental "
              f"counters: {same}")
        stores.database.close()
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
