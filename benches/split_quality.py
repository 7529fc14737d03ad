"""Panel detection quality of the model-free splitter on fresh synthetic
corpora (several seeds): F1 at IoU >= 0.9 per layout type, and sub-caption
letter agreement. Quality, not speed, but it belongs with the measurements."""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sciir_dist.ingest.packages import discover  # noqa: E402
from sciir_dist.ingest.pipeline import IngestOptions, process_source  # noqa: E402
from sciir_dist.synth.corpus import generate  # noqa: E402
from sciir_dist.synth.score import Counts, letter_agreement, panel_detection  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--articles", type=int, default=40)
    ap.add_argument("--seeds", type=int, nargs="+", default=[101, 202, 303])
    ap.add_argument("--splitter", default="xycut")
    args = ap.parse_args()
    total: dict[str, Counts] = defaultdict(Counts)
    ok = n = 0
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as d:
            manifest = generate(d, articles=args.articles, seed=seed)
            panels, detected = [], defaultdict(list)
            for src in discover([d]):
                res = process_source(src, IngestOptions(splitter=args.splitter))
                panels += res.panels
                for p in res.panels:
                    detected[p["figure_id"]].append(p["bbox"])
                for r in res.rejects:
                    if r["reason"] in ("too_small", "aspect", "area_ratio"):
                        box = json.loads(re.search(r"bbox (\[[^\]]*\])", r["detail"]).group(1))
                        detected[r["item"].rsplit(".p", 1)[0]].append(box)
            for k, c in panel_detection(manifest, detected).items():
                total[k].tp += c.tp
                total[k].fp += c.fp
                total[k].fn += c.fn
            a, b = letter_agreement(manifest, panels)
            ok, n = ok + a, n + b
    print(f"splitter={args.splitter}, seeds={args.seeds}, {args.articles} articles each")
    for k in sorted(total, key=lambda k: (k == "all", k)):
        c = total[k]
        print(f"  {k:8s} F1@0.9 = {c.f1:.3f}   (tp {c.tp}, fp {c.fp}, fn {c.fn})")
    print(f"  letters + sub-captions matching the manifest: {ok}/{n} = {ok / max(n, 1):.3f}")


if __name__ == "__main__":
    main()
