"""Split quality and speed on figures this repository did not draw.

Generates fresh sets with the five independent layout generators of
tests/layoutgen (Pillow, OpenCV, skia, Vega-Lite, matplotlib; each written
without the splitter or `sciir synth` in view; matplotlib's never used while
tuning), scores the default splitter on each with the same
code as `sciir split eval` (F1 at IoU 0.5 and 0.9 per layout family, panel
letters with their sub-captions), and reports panels/s per core, then, on
``--copies`` multi-panel figures of each set, how often re-encoded copies
split into the same panels and dedup's recall and precision on exact,
re-scaled and brightened copies (sciir_dist/split/copies.py, as `sciir split
eval --copies`). The splitter
this one replaced (`ingest/split.py` before commit 1cdd5c5) is loaded from
git history and measured in the same run, on the same figures, as the
baseline for the speed ratio; without git history that column is left out.

    python benches/split_quality.py [--per-family 8] [--seed 101] [--copies 12] [--json OUT]
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sciir_dist.split import Hints, SplitterConfig, make_splitter  # noqa: E402
from sciir_dist.split.copies import copies_report, ingest_split  # noqa: E402
from sciir_dist.split.evaluate import evaluate, load_labelled  # noqa: E402
from git_baseline import module_at  # noqa: E402  (benches/ is on the path of a bench script)

GENERATORS = ("pil_plates", "cv_montage", "skia_sheets", "vega_charts", "mpl_figures")
BASELINE_COMMIT = "1cdd5c5^"


class _Baseline:
    """The replaced splitter behind today's interface (it took the caption's count only)."""

    def __init__(self, module) -> None:
        self.inner = module.XYCutSplitter()
        self.name = "xycut-before"

    def __call__(self, rgb: np.ndarray, hints: Hints = Hints()) -> list:
        return self.inner(rgb, hints.expected)


def _baseline():
    module = module_at(BASELINE_COMMIT, "sciir_dist/ingest/split.py", "split_before")
    return _Baseline(module) if module else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-family", type=int, default=8)
    ap.add_argument("--seed", type=int, default=101, help="a seed no one tuned on")
    ap.add_argument("--generators", nargs="+", default=list(GENERATORS), choices=GENERATORS)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--copies", type=int, default=12, help="figures per set for stability and dedup (0: skip)")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = ap.parse_args()
    splitters = [make_splitter(SplitterConfig())]
    old = None if args.no_baseline else _baseline()
    if old is not None:
        splitters.append(old)
    out: dict = {}
    for gen in args.generators:
        module = importlib.import_module(f"tests.layoutgen.{gen}")
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            module.generate(d, per_family=args.per_family, seed=args.seed)
            print(f"\n== {gen}: seed {args.seed}, {args.per_family} per family "
                  f"(drawn in {time.perf_counter() - t0:.0f} s)")
            figures = load_labelled(d)
            reports = {sp.name: evaluate(figures, sp)[0] for sp in splitters}
            copies = copies_report(figures, ingest_split(), args.copies) if args.copies else None
        out[gen] = {name: r.as_dict() for name, r in reports.items()}
        for r in out[gen].values():
            r.pop("per_figure")
        _print(reports)
        if copies:
            out[gen]["copies"] = copies
            rates = ", ".join(f"{k} {v:.2f}" for k, v in copies["stability"].items())
            print(f"  re-encoded copies of {copies['figures']} figures split alike: {rates}; dedup of exact, "
                  f"re-scaled and brightened copies: recall {copies['dedup']['recall']:.3f}, "
                  f"precision {copies['dedup']['precision']:.3f}")
    if old is not None:
        new_pps = np.mean([out[g]["xycut"]["panels_per_second"] for g in out])
        old_pps = np.mean([out[g][old.name]["panels_per_second"] for g in out])
        print(f"\nspeed, one core: {new_pps:.1f} panels/s now vs {old_pps:.1f} before (ratio {new_pps / old_pps:.2f})")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


def _print(reports: dict) -> None:
    names = list(reports)
    head = "".join(f" | {n:>22s}" for n in names)
    print(f"{'family':18s}{head}")
    print(f"{'':18s}" + " | F1@0.5  F1@0.9  panels" * len(names))
    layouts = sorted(next(iter(reports.values())).by_layout)
    for layout in layouts + ["(all)"]:
        cells = []
        for n in names:
            r = reports[n]
            c = r.overall if layout == "(all)" else r.by_layout[layout]
            true = c["iou0.9"]["tp"] + c["iou0.9"]["fn"]
            cells.append(f" | {c['iou0.5']['f1']:6.3f}  {c['iou0.9']['f1']:6.3f}  {true:6d}")
        print(f"{layout:18s}" + "".join(cells))
    for n in names:
        r = reports[n]
        cap = f"{r.captions['accuracy']:.3f} of {r.captions['total']}" if r.captions else "n/a"
        print(f"  {n}: letters + sub-captions right {cap}; {r.panels_per_second:.1f} panels/s on one core")


if __name__ == "__main__":
    main()
