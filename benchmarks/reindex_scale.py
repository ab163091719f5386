"""Incremental re-indexing cost: change 1% of a generated catalog and re-index.

    python benchmarks/reindex_scale.py                 # 100,000 capabilities, 1% changed
    python benchmarks/reindex_scale.py --caps 20000 --change 0.05

Everything is real here: every capability is embedded with the configured backend for the
full build, then 1% of the capabilities get a new description and `reindex` embeds only
those. Prints both wall times, their ratio, and the run's counts.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.generate import generated, sentences_of  # noqa: E402
from matchgraph.engine.catalog.manifests import load_manifests  # noqa: E402
from matchgraph.engine.facade import Matchgraph  # noqa: E402
from matchgraph.engine.settings import Settings  # noqa: E402
from matchgraph.index.versions import current_version, read_manifest, versions_dir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--caps", type=int, default=100_000)
    parser.add_argument("--change", type=float, default=0.01)
    args = parser.parse_args()
    rng = random.Random(3)
    sents, intents = sentences_of(load_manifests([ROOT / "data" / "catalog"]).artifacts)
    artifacts, _ = generated(args.caps, sents, intents, rng)
    with tempfile.TemporaryDirectory(prefix="mg-reindex-") as tmp:
        settings = Settings(data_dir=Path(tmp), record_matches=False)
        with Matchgraph(settings, record=False) as mg:
            mg.ingest_artifacts(artifacts)
            _ = mg.embedder
            t = time.perf_counter()
            full = mg.reindex()
            full_s = time.perf_counter() - t
            print(f"full build: {full.run.capabilities:,} capabilities in {full_s:.1f} s "
                  f"({full.run.capabilities / full_s:.0f}/s, {full.run.version})", flush=True)

            changed = rng.sample(range(len(artifacts)), max(1, int(len(artifacts) * args.change)))
            n_caps = 0
            for i in changed:  # one capability in each of these artifacts, 4 per artifact -> x4 artifacts
                for cap in artifacts[i].capabilities[:4]:
                    cap.description += " Revised: " + rng.choice(sents)
                    n_caps += 1
                    if n_caps >= args.caps * args.change:
                        break
                if n_caps >= args.caps * args.change:
                    break
            t = time.perf_counter()
            mg.ingest_artifacts(artifacts)
            ingest_s = time.perf_counter() - t
            t = time.perf_counter()
            inc = mg.reindex()
            inc_s = time.perf_counter() - t
            r = inc.run
            print(f"changed {n_caps:,} capabilities ({n_caps / args.caps:.1%}); re-ingest {ingest_s:.1f} s")
            print(f"incremental: {inc_s:.1f} s = {inc_s / full_s:.1%} of the full build "
                  f"({r.embedded} embedded, {r.reused} reused, {r.deleted} deleted)")
            root = settings.index_root
            m = read_manifest(versions_dir(root) / str(current_version(root)))
            print(f"dense index: {'updated in place' if m.dense_updated else 'built afresh'} "
                  f"({m.dense_kind}, {m.dense_retired} retired entries)")


if __name__ == "__main__":
    main()
