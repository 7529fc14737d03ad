"""Ingest throughput on the synthetic corpus: articles/s and panels/s with
Spark on 1 and 2 cores (local[1] vs local[2], same corpus, fresh warehouse
each), plus the in-process engine for reference. Each run is a separate
`sciir ingest` process; the figure is the job's own elapsed time (JVM start
excluded), best of --repeat.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sciir_dist.synth.corpus import generate  # noqa: E402


def ingest(corpus: str, engine: str, master: str | None, root: Path) -> dict:
    cmd = [sys.executable, "-m", "sciir_dist.cli", "ingest", "--input", corpus, "--data", str(root), "--engine", engine,
           "--json", "--no-progress"]
    if master:
        cmd += ["--master", master]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--articles", type=int, default=120)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        generate(corpus, articles=args.articles, seed=5)
        results = {}
        for label, engine, master in (("spark local[1]", "spark", "local[1]"), ("spark local[2]", "spark", "local[2]"),
                                      ("local engine", "local", None)):
            best = None
            for i in range(args.repeat):
                s = ingest(str(corpus), engine, master, Path(tmp) / f"wh-{engine}-{master}-{i}")
                if best is None or s["elapsed_s"] < best["elapsed_s"]:
                    best = s
            results[label] = best
            n_art, n_pan = best["rows_in"], best["rows_out"].get("panels", 0)
            print(f"{label:15s}: {best['elapsed_s']:6.1f} s  {n_art / best['elapsed_s']:6.2f} articles/s  "
                  f"{n_pan / best['elapsed_s']:6.2f} panels/s  ({n_art} articles, {n_pan} panels)")
        one, two = results["spark local[1]"]["elapsed_s"], results["spark local[2]"]["elapsed_s"]
        print(f"Spark scaling 1 -> 2 cores: {one / two:.2f}x (ideal 2.00x)")


if __name__ == "__main__":
    main()
