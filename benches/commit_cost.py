"""Commit cost vs table size (issue 12 item 3): replace 10 and 10k rows of a
`panel_hashes` table of 10k / 100k / 1M rows laid out in 16 fragments or in
many small ones (the shape curation leaves: one fragment per actor batch).

Each case times `Warehouse.commit_upsert` of fragments holding the changed
rows (the commit alone: the fragments are written beforehand). The baseline
is the deletion planner this replaced (a scan of every fragment's key
column), loaded from git history and timed on the same tables in the same
run; without git history its column is left out.

    python benches/commit_cost.py [--sizes 10000,100000,1000000] [--small-fragments 8000]
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
from sciir_dist.warehouse import Warehouse, write_fragments  # noqa: E402
from git_baseline import module_at  # noqa: E402  (benches/ is on the path of a bench script)

BASELINE_COMMIT = "228728e"  # the last commit with the scanning planner


def baseline_planner():
    module = module_at(BASELINE_COMMIT, "sciir_dist/warehouse.py", "warehouse_before")
    return module._plan_deletions if module else None


def rows(start: int, n: int, tag: str) -> pa.Table:
    ids = [f"p{i:08d}" for i in range(start, start + n)]
    return pa.Table.from_pydict({"panel_id": ids, "sha256": ids, "phash": [1] * n, "dhash": [2] * n,
                                 "hash_region": [tag] * n}, schema=PANEL_HASHES)


def build(root: str, size: int, fragments: int) -> Warehouse:
    """A table of ``size`` rows in ``fragments`` fragments, committed as
    curation would (one append per batch), then indexed as commits keep it."""
    import lance
    from lance.fragment import FragmentMetadata

    wh = Warehouse(root)
    wh.ensure("panel_hashes")
    per = -(-size // fragments)
    metas = []
    for start in range(0, size, per):
        metas += [FragmentMetadata.from_json(f) for f in write_fragments(wh, "panel_hashes", rows(start, min(per, size - start), "old"))]
    ds = wh.open("panel_hashes")
    lance.LanceDataset.commit(wh.uri("panel_hashes"), lance.LanceOperation.Append(metas), read_version=ds.version)
    current._index_keys(wh.open("panel_hashes"), ["panel_id"])  # what maintain() leaves after a commit
    return wh


def changed_rows(changed: int, size: int, r: int) -> pa.Table:
    """``changed`` existing rows spread over the table (repeat ``r`` shifts them)."""
    step = max(1, size // changed)
    ids = [f"p{i * step + r:08d}" for i in range(changed)]
    return pa.Table.from_pydict({"panel_id": ids, "sha256": ids, "phash": [1] * changed, "dhash": [2] * changed,
                                 "hash_region": [f"new{r}"] * changed}, schema=PANEL_HASHES)


def time_case(wh: Warehouse, plan_before, changed: int, size: int, repeats: int) -> tuple[float, float, float | None]:
    """Median seconds of (deletion planning, the whole commit) for the current
    code, and the replaced planner's planning on the same version. Commits run
    without maintenance, so every repeat sees the table's layout as built."""
    plans, commits, olds = [], [], []
    for r in range(repeats):
        data = changed_rows(changed, size, r)
        keys = {"panel_id": sorted(data.column("panel_id").to_pylist())}
        frags = write_fragments(wh, "panel_hashes", data)
        ds = wh.open("panel_hashes")
        if plan_before:
            t0 = time.perf_counter()
            plan_before(ds, keys)
            olds.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        current._plan_deletions(ds, keys)
        plans.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        wh.commit_upsert("panel_hashes", frags, replace_keys=keys, maintain=False)
        commits.append(time.perf_counter() - t0)
    return statistics.median(plans), statistics.median(commits), statistics.median(olds) if olds else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--small-fragments", type=int, default=8000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    plan_before = baseline_planner()
    print(f"{'rows':>9} {'fragments':>9} {'changed':>7} {'plan s':>8} {'commit s':>9} {'old plan s':>10} {'old/new':>8}")
    commits = {}
    for size in (int(s) for s in args.sizes.split(",")):
        for frags in (16, min(args.small_fragments, size // 2)):
            with tempfile.TemporaryDirectory() as tmp:
                wh = build(tmp, size, frags)
                n_frags = len(wh.open("panel_hashes").get_fragments())
                for changed in (10, 10_000):
                    if changed > size // 2:
                        continue
                    plan, commit, old = time_case(wh, plan_before, changed, size, args.repeats)
                    commits[(size, "16" if frags == 16 else "many", changed)] = commit
                    ratio = f"{old / plan:8.1f}" if old else "       -"
                    old_s = f"{old:10.3f}" if old is not None else "         -"
                    print(f"{size:9d} {n_frags:9d} {changed:7d} {plan:8.3f} {commit:9.3f} {old_s} {ratio}", flush=True)
                t0 = time.perf_counter()
                wh.maintain("panel_hashes", ["panel_id"])
                print(f"{'':>9} one-time maintenance (index refresh, compaction of small fragments): "
                      f"{time.perf_counter() - t0:.2f} s -> {len(wh.open('panel_hashes').get_fragments())} fragments")
    for layout in ("16", "many"):
        for changed in (10, 10_000):
            pts = sorted((s, v) for (s, f, c), v in commits.items() if f == layout and c == changed)
            if len(pts) > 1:
                print(f"{layout:>4} fragments, {changed:5d} changed: commit at {pts[-1][0]} rows / at {pts[0][0]} rows "
                      f"= {pts[-1][1] / pts[0][1]:.2f}")


if __name__ == "__main__":
    main()
