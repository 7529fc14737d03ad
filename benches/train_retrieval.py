"""Held-out retrieval before and after `sciir train clip` on the demo corpus.

Builds the demo warehouse (``sciir demo --articles N``: synth -> Spark ingest
-> Ray curate -> bench build) unless ``--data`` points at one, trains with
Ray Train (2 CPU workers by default), and prints R@1/R@5 image->text and
text->image of the untrained model against the trained one, next to chance,
and the training throughput. On a GPU machine pass ``--gpus-per-worker 1
--workers 1 --model ViT-B-32`` for samples/s on one GPU.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sciir_dist.train.clip import TrainSettings, train_clip  # noqa: E402
from sciir_dist.warehouse import Warehouse  # noqa: E402

METRICS = ("r1_i2t", "r5_i2t", "r1_t2i", "r5_t2i")


def demo_warehouse(workdir: Path, articles: int) -> Path:
    data = workdir / "warehouse"
    if not data.exists():
        subprocess.run([sys.executable, "-m", "sciir_dist.cli", "demo", "--dir", str(workdir), "--articles", str(articles)],
                       check=True, stdout=subprocess.DEVNULL)
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", help="an existing curated warehouse (default: build the demo corpus)")
    ap.add_argument("--dir", default=None, help="where to build the demo corpus (default: a temporary directory)")
    ap.add_argument("--articles", type=int, default=300)
    ap.add_argument("--model", default="sciir-lite")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--gpus-per-worker", type=float, default=0.0)
    ap.add_argument("--heldout-percent", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data) if args.data else demo_warehouse(Path(args.dir or tmp) / "demo", args.articles)
        settings = TrainSettings(run_name="bench", storage_path=str(Path(tmp) / "runs"), model=args.model,
                                 epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, workers=args.workers,
                                 gpus_per_worker=args.gpus_per_worker, heldout_percent=args.heldout_percent)
        t0 = time.perf_counter()
        res = train_clip(Warehouse(str(data)), settings)
        wall = time.perf_counter() - t0
    hist = res["history"]
    n = res["heldout_pairs"]
    print(f"{res['train_pairs']} training / {n} held-out pairs, {args.workers} workers, {args.model}, "
          f"{args.epochs} epochs, peak lr {args.lr}")
    print(f"{'epoch':>6} {'loss':>7} " + " ".join(f"{m:>7}" for m in METRICS))
    for h in hist:
        loss = f"{h['loss']:.3f}" if h["loss"] is not None else "-"
        print(f"{h['epoch']:>6} {loss:>7} " + " ".join(f"{h[m]:7.3f}" for m in METRICS))
    first, last = hist[0], hist[-1]
    print(f"chance: R@1 {1 / n:.3f}, R@5 {min(1.0, 5 / n):.3f}")
    for m in METRICS:
        print(f"{m}: untrained {first[m]:.3f} -> trained {last[m]:.3f}")
    print(f"training: {res['train_pairs'] * args.epochs / wall:.1f} samples/s over {wall:.0f} s "
          f"(whole run, start-up and evaluation included)")


if __name__ == "__main__":
    main()
