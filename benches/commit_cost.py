"""Commit cost vs table size (issue 12 item 3): replace 10 and 10k rows of a
`panel_hashes` table of 10k / 100k / 1M rows laid out in 16 fragments or in
~8,000 small ones (the shape curation leaves: one fragment per actor batch;
at 10k rows, 5,000 fragments of two rows).

Each case times the whole commit that a curation checkpoint makes,
`Warehouse.commit_upsert` with its maintenance, of fragments holding the
changed rows (written beforehand): key lookup, deletion by row address, the
Lance transaction, the key index brought up to date and, on the small-fragment
layout, the slice of compaction that commit does. The timed commits change
the layout they measure (index segments, compacted slices), as they would in
curation; the table after the last repeat is printed, and "max s" is the
slowest repeat (a first commit pays for the layout it found). Last, the
commits of a curation run's checkpoints (2,000 new rows in 16 fragments
each, small fragments compacted on the way) on each table size. "plan s" is the
deletion planning alone (lookup and deletion vectors), and "old plan s" the
planner this replaced (a scan of every fragment's key column, loaded from git
history; left out without it). ``--warehouse-at COMMIT`` times
sciir_dist/warehouse.py as of an earlier commit instead of the working tree's
(a before/after comparison on the same machine).

    python benches/commit_cost.py [--sizes 10000,100000,1000000] [--small-fragments 8000] [--warehouse-at HEAD]
                                  [--checkpoints 20] [--no-old-planner]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from schemas.tables import PANEL_HASHES  # noqa: E402
from sciir_dist import warehouse as current  # noqa: E402
from git_baseline import module_at  # noqa: E402  (benches/ is on the path of a bench script)

BASELINE_COMMIT = "228728e"  # the last commit with the scanning planner
CHANGES = (10, 10_000)


def baseline_planner():
    module = module_at(BASELINE_COMMIT, "sciir_dist/warehouse.py", "warehouse_before")
    return module._plan_deletions if module else None


def hash_rows(ids: list[str], tag: str) -> pa.Table:
    n = len(ids)
    return pa.Table.from_pydict({"panel_id": ids, "sha256": ids, "phash": [1] * n, "dhash": [2] * n,
                                 "phash_ink": [3] * n, "dhash_ink": [4] * n, "hash_region": [tag] * n},
                                schema=PANEL_HASHES)


def rows(start: int, n: int, tag: str) -> pa.Table:
    return hash_rows([f"p{i:08d}" for i in range(start, start + n)], tag)


def build(wmod, root: str, size: int, fragments: int):
    """A table of ``size`` rows in ``fragments`` fragments, committed as
    curation would (one append per batch), then indexed as commits keep it."""
    import lance
    from lance.fragment import FragmentMetadata

    wh = wmod.Warehouse(root)
    wh.ensure("panel_hashes")
    per = -(-size // fragments)
    metas = []
    for start in range(0, size, per):
        data = rows(start, min(per, size - start), "old")
        metas += [FragmentMetadata.from_json(f) for f in wmod.write_fragments(wh, "panel_hashes", data)]
    ds = wh.open("panel_hashes")
    lance.LanceDataset.commit(wh.uri("panel_hashes"), lance.LanceOperation.Append(metas), read_version=ds.version)
    wmod._index_keys(wh.open("panel_hashes"), ["panel_id"])  # what maintain() leaves after a commit
    return wh


def changed_rows(changed: int, size: int, r: int) -> pa.Table:
    """``changed`` existing rows spread over the table (repeat ``r`` shifts them)."""
    step = max(1, size // changed)
    return hash_rows([f"p{(i * step + r) % size:08d}" for i in range(changed)], f"new{r}")


def time_case(wmod, wh, plan_before, changed: int, size: int, repeats: int):
    """Median seconds of deletion planning and of the whole commit, the
    slowest commit (a first commit may pay for the layout it found), and the
    replaced planner's median planning on the same versions."""
    plans, commits, olds = [], [], []
    for r in range(repeats):
        data = changed_rows(changed, size, r)
        keys = {"panel_id": sorted(data.column("panel_id").to_pylist())}
        frags = wmod.write_fragments(wh, "panel_hashes", data)
        ds = wh.open("panel_hashes")
        if plan_before:
            t0 = time.perf_counter()
            plan_before(ds, keys)
            olds.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        wmod._plan_deletions(ds, keys)  # planned, not committed
        plans.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        wh.commit_upsert("panel_hashes", frags, replace_keys=keys)  # as a curation checkpoint commits
        commits.append(time.perf_counter() - t0)
    return (statistics.median(plans), statistics.median(commits), max(commits),
            statistics.median(olds) if olds else None)


def checkpoint_stream(wmod, root: str, size: int, checkpoints: int) -> list[float]:
    """Seconds of each commit of a curation run's checkpoints on a table of
    ``size`` rows in 16 fragments: 2,000 new rows per checkpoint in 16
    fragments (one per actor batch), committed with maintenance; small
    fragments pile up and get compacted on the way, as in a real run."""
    wh = build(wmod, root, size, 16)
    times = []
    for c in range(checkpoints):
        first = size + c * 2000
        frags = [f for b in range(16) for f in wmod.write_fragments(wh, "panel_hashes", rows(first + b * 125, 125, f"c{c}"))]
        keys = [f"p{i:08d}" for i in range(first, first + 2000)]
        t0 = time.perf_counter()
        wh.commit_upsert("panel_hashes", frags, replace_keys={"panel_id": keys})
        times.append(time.perf_counter() - t0)
    return times


def layout(wh) -> str:
    ds = wh.open("panel_hashes")
    segments = [ds.stats.index_stats(d.name)["num_indices"] for d in ds.describe_indices()]
    return f"{len(ds.get_fragments())} fragments, {sum(segments)} index segments, {ds.count_rows()} rows"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--small-fragments", type=int, default=8000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warehouse-at", default=None, help="time warehouse.py as of this git commit")
    ap.add_argument("--no-old-planner", action="store_true", help="skip the replaced planner's column")
    ap.add_argument("--checkpoints", type=int, default=20, help="checkpoints of the curation-run stream (0: skip)")
    args = ap.parse_args()
    wmod = current
    if args.warehouse_at:
        wmod = module_at(args.warehouse_at, "sciir_dist/warehouse.py", "warehouse_at")
        if wmod is None:
            sys.exit(f"no git history to load warehouse.py at {args.warehouse_at}")
    plan_before = None if args.no_old_planner else baseline_planner()
    print(f"warehouse.py: {args.warehouse_at or 'working tree'}; commit = commit_upsert with maintenance (median of "
          f"{args.repeats})")
    print(f"{'rows':>9} {'fragments':>9} {'changed':>7} {'plan s':>8} {'commit s':>9} {'max s':>8} {'old plan s':>10} "
          f"{'old/new':>8}")
    commits = {}
    sizes = [int(s) for s in args.sizes.split(",")]
    for size in sizes:
        for frags in (16, min(args.small_fragments, size // 2)):
            with tempfile.TemporaryDirectory() as tmp:
                wh = build(wmod, tmp, size, frags)
                n_frags = len(wh.open("panel_hashes").get_fragments())
                for changed in (c for c in CHANGES if c <= size):
                    plan, commit, worst, old = time_case(wmod, wh, plan_before, changed, size, args.repeats)
                    commits[(size, "16" if frags == 16 else "many", changed)] = commit
                    ratio = f"{old / plan:8.1f}" if old else "       -"
                    old_s = f"{old:10.3f}" if old is not None else "         -"
                    print(f"{size:9d} {n_frags:9d} {changed:7d} {plan:8.3f} {commit:9.3f} {worst:8.3f} {old_s} {ratio}",
                          flush=True)
                print(f"{'':>9} after the timed commits: {layout(wh)}", flush=True)
    print("\nmedian commit s by table size (same run), and the largest over the smallest:")
    print(f"{'layout':>10} {'changed':>7} " + " ".join(f"{s:>9d}" for s in sizes) + f" {'max/min':>8}")
    for lay in ("16", "many"):
        for changed in CHANGES:
            pts = [commits.get((s, lay, changed)) for s in sizes]
            got = [p for p in pts if p is not None]
            cells = " ".join(f"{p:9.3f}" if p is not None else f"{'-':>9}" for p in pts)
            ratio = f"{max(got) / min(got):8.2f}" if len(got) > 1 else f"{'-':>8}"
            name = "16 frags" if lay == "16" else "~8k frags"
            print(f"{name:>10} {changed:7d} {cells} {ratio}")
    if args.checkpoints:
        print(f"\na curation run's checkpoint commits (2,000 new rows in 16 fragments each, {args.checkpoints} checkpoints):")
        print(f"{'rows':>9} {'median s':>9} {'max s':>8}")
        for size in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                times = checkpoint_stream(wmod, tmp, size, args.checkpoints)
            print(f"{size:9d} {statistics.median(times):9.3f} {max(times):8.3f}", flush=True)


if __name__ == "__main__":
    main()
