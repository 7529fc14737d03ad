"""The command line the layout generators share: draw a set, optionally with
box overlays to look at (each generator keeps its own drawing code)."""

from __future__ import annotations

import argparse
import time
from typing import Callable


def run(doc: str, generate: Callable, check: Callable[[str, int], None], argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--per-family", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--families", default=None, help="comma-separated subset")
    ap.add_argument("--check", type=int, default=0, metavar="N",
                    help="also draw the boxes on N images per family into OUT/check/")
    args = ap.parse_args(argv)
    t = time.time()
    coco = generate(args.out, args.per_family, args.seed, args.families.split(",") if args.families else None)
    print(f"{len(coco['images'])} images, {len(coco['annotations'])} panels in {time.time() - t:.1f} s -> {args.out}")
    if args.check:
        check(args.out, args.check)
