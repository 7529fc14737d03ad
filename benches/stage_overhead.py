"""Stage bookkeeping overhead: a no-op stage (reads panel_id, writes one row
per panel) over warehouses of 10k and 100k panels, through the real Ray
engine and checkpoint commits. Per-row time must not grow with table size
(the reference implementation rewrites a whole JSON cache per result)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas.tables import PANEL_HASHES  # noqa: E402
from sciir_dist.curate import run as curate  # noqa: E402
from sciir_dist.stages.base import Resources, Stage, StageResult  # noqa: E402
from sciir_dist.stages.registry import register  # noqa: E402
from sciir_dist.warehouse import Warehouse, write_fragments  # noqa: E402


@register  # a plug-in stage, registered like any other
class NoopStage(Stage):
    name = "noop"
    output_table = "panel_hashes"  # any panel-keyed table will do
    inputs = ("panel_id",)
    resources = Resources(batch_size=1000)

    def process(self, batch: pa.Table) -> StageResult:
        ids = batch["panel_id"]
        return StageResult(pa.table({f.name: ids if f.name == "panel_id" else pa.nulls(len(ids), f.type)
                                     for f in PANEL_HASHES}, schema=PANEL_HASHES))


def make_panels(wh: Warehouse, n: int) -> None:
    ids = [f"a{i // 100:07d}.fig1.p{i % 100}" for i in range(n)]
    t = pa.table({"panel_id": ids, "figure_id": [i.rsplit(".", 1)[0] for i in ids], "article_id": [i[:8] for i in ids],
                  "panel_index": pa.array([i % 100 for i in range(n)], pa.int32()), "image": pa.array([b"x"] * n, pa.large_binary())})
    wh.commit_upsert("panels", write_fragments(wh, "panels", t))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = ap.parse_args()
    per_row = {}
    with tempfile.TemporaryDirectory() as d:  # warm-up: start Ray and its worker processes once
        wh = Warehouse(d)
        make_panels(wh, 1000)
        curate.run_curate(wh, ["noop"], progress=False)
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as d:
            wh = Warehouse(d)
            make_panels(wh, n)
            t = time.perf_counter()
            s = curate.run_curate(wh, ["noop"], progress=False, commit_every=10_000)
            elapsed = time.perf_counter() - t
            assert wh.count("panel_hashes") == n, s
            per_row[n] = elapsed / n
            print(f"{n:>8,} panels: {elapsed:6.1f} s  {per_row[n] * 1e6:7.1f} us/row")
    a, b = args.sizes[0], args.sizes[-1]
    print("(each run includes planning, actor start-up and one commit per 10,000 rows)")
    print(f"per-row overhead ratio {b:,} vs {a:,} panels: {per_row[b] / per_row[a]:.2f} (1.0 = no growth with table size)")


if __name__ == "__main__":
    main()
