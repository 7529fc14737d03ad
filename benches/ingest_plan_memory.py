"""Driver memory of planning an ingest at a million sources (target: < 500 MB).

Writes a `sources` table of N synthetic rows straight through
write_fragments, then plans an ingest of N inputs against it (half
committed unchanged, a quarter changed, a quarter new) in a fresh process
per measurement, so one measurement's high-water mark cannot hide another's.
Reported: the rise of the process's peak RSS (ru_maxrss) over its RSS just
before planning (after a warm-up that loads Lance and opens the table), Arrow's own peak allocation, and the time; for the planner
of `sciir_dist.ingest.run` and, as the comparison, the one it replaced (a dict
of every committed row). Also: one checkpoint's lookup of the rows of its
1,000 sources, which must not depend on the table size.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sciir_dist.ingest import run as ingest  # noqa: E402
from sciir_dist.ingest.packages import Source  # noqa: E402
from sciir_dist.warehouse import read_in  # noqa: E402
from sciir_dist.warehouse import Warehouse, write_fragments  # noqa: E402

BATCH = 100_000
MB = 1024 * 1024


def uri(i: int) -> str:
    return f"s3://bucket/pmc-oa/oa_comm/xml/PMC{i:09d}.tar.gz"


def fingerprint(i: int, changed: bool = False) -> str:
    return f"{i:016x}{'c' if changed else '0'}{i * 7919 % 16**15:015x}"


def write_sources(wh: Warehouse, n: int) -> None:
    """N committed rows, appended in one commit like a very large ingest run."""
    frags = []
    for start in range(0, n, BATCH):
        ids = range(start, min(n, start + BATCH))
        frags += write_fragments(wh, "sources", pa.table({
            "source_uri": [uri(i) for i in ids], "source_fingerprint": [fingerprint(i) for i in ids],
            "source_format": ["jats"] * len(ids), "article_ids": [[f"10.1234/journal.{i:09d}"] for i in ids],
            "status": ["ingested"] * len(ids)}))
    wh.ensure("sources")
    wh.commit_upsert("sources", frags)


def inputs(n: int) -> list[Source]:
    """Sources as discovery would give them: 0..n/2 unchanged, n/2..3n/4
    changed, then n/4 new ones."""
    return sorted((Source(uri(i if i < n * 3 // 4 else n + i), "jats", fingerprint(i, changed=n // 2 <= i < n * 3 // 4))
                   for i in range(n)), key=lambda s: s.uri)


def plan_before(wh: Warehouse, sources: list[Source]) -> list[Source]:
    """The planner this replaced: every committed row as a dict."""
    done = {r["source_uri"]: r for r in wh.read("sources", ["source_uri", "source_fingerprint", "article_ids"]).to_pylist()}
    return [s for s in sources if done.get(s.uri, {}).get("source_fingerprint") != s.fingerprint]


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(root: str, n: int, which: str) -> dict:
    """Run in a fresh process: plan once, report memory and time."""
    wh = Warehouse(root)
    sources = inputs(n)
    wh.count("sources")  # warm-up: Lance's library and runtime are a fixed cost of any driver, not of planning
    gc.collect()
    before = rss()
    t = time.perf_counter()
    todo = ingest.plan(wh, sources) if which == "arrow" else plan_before(wh, sources)
    elapsed = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return {"planner": which, "todo": len(todo), "seconds": round(elapsed, 2),
            "peak_rise_mb": round((peak - before) / MB, 1), "arrow_peak_mb": round(pa.default_memory_pool().max_memory() / MB, 1),
            "inputs_rss_mb": round(before / MB, 1)}


def lookup_ms(root: str, n: int) -> float:
    """The read of 1,000 sources' previous rows (what the workers of one
    checkpoint look up, batch by batch)."""
    wh = Warehouse(root)
    uris = [uri(i) for i in range(0, n, max(1, n // 1000))]
    t = time.perf_counter()
    read_in(wh.open("sources"), "source_uri", uris, ["source_uri", "article_ids"])
    return (time.perf_counter() - t) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--skip-before", action="store_true", help="Measure only the Arrow planner.")
    ap.add_argument("--measure", choices=("arrow", "before"), help=argparse.SUPPRESS)  # the child process
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.data, args.rows, args.measure)))
        return
    with tempfile.TemporaryDirectory() as d:
        wh = Warehouse(d)
        t = time.perf_counter()
        write_sources(wh, args.rows)
        print(f"sources table: {wh.count('sources'):,} rows written in {time.perf_counter() - t:.1f} s")
        results = {}
        for which in ("arrow",) if args.skip_before else ("arrow", "before"):
            child = subprocess.run([sys.executable, __file__, "--measure", which, "--data", d, "--rows", str(args.rows)],
                                   check=True, capture_output=True, text=True)
            results[which] = json.loads(child.stdout.strip().splitlines()[-1])
            r = results[which]
            print(f"{which:>6} planner: {r['todo']:,} sources to do in {r['seconds']} s; peak RSS rise {r['peak_rise_mb']} MB "
                  f"(Arrow peak {r['arrow_peak_mb']} MB; the {args.rows:,} input Sources themselves: {r['inputs_rss_mb']} MB RSS)")
        if "before" in results:
            print(f"peak RSS rise, before / arrow: {results['before']['peak_rise_mb'] / max(results['arrow']['peak_rise_mb'], 0.1):.1f}x")
        print(f"one checkpoint's lookup of 1,000 sources in {args.rows:,}: {lookup_ms(d, args.rows):.0f} ms")
        print(f"target < 500 MB: {'met' if results['arrow']['peak_rise_mb'] < 500 else 'MISSED'}")


if __name__ == "__main__":
    main()
