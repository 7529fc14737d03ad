"""pHash near-duplicate search over N 64-bit hashes (default 1M) with
multi-index hashing, timed, and its recall against brute force on a sample
of query hashes. Half of the hashes are near copies (0..k bit flips) of the
other half, as a deduplicated corpus with many reposted figures would be."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sciir_dist.stages.dedup import near_pairs  # noqa: E402


def make_hashes(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    base = rng.integers(0, 2**63, n // 2, dtype=np.uint64) << np.uint64(1) | rng.integers(0, 2, n // 2, dtype=np.uint64)
    near = base.copy()
    flips = rng.integers(0, k + 1, len(base))
    for f in range(1, k + 1):
        idx = np.flatnonzero(flips >= f)
        near[idx] ^= np.uint64(1) << rng.integers(0, 64, len(idx)).astype(np.uint64)
    return np.concatenate([base, near])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--k", type=int, default=6)
    ap.add_argument("--sample", type=int, default=2000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    h = make_hashes(args.n, args.k, rng)
    t = time.perf_counter()
    pairs = near_pairs(h, args.k)
    elapsed = time.perf_counter() - t
    found: dict[int, set[int]] = {}
    for i, j in pairs.tolist():
        found.setdefault(i, set()).add(j)
        found.setdefault(j, set()).add(i)
    queries = rng.choice(len(h), args.sample, replace=False)
    t = time.perf_counter()
    want = got = 0
    for q in queries:
        d = np.bitwise_count(h ^ h[q])
        truth = set(np.flatnonzero(d <= args.k).tolist()) - {int(q)}
        want += len(truth)
        got += len(truth & found.get(int(q), set()))
    brute = (time.perf_counter() - t) / args.sample * len(h)
    print(f"hashes: {len(h):,}  k={args.k}")
    print(f"multi-index search: {elapsed:.1f} s for all pairs ({len(pairs):,} pairs within k)")
    print(f"brute force (extrapolated from {args.sample} queries): {brute:.0f} s -> speed-up {brute / elapsed:.0f}x")
    print(f"recall vs brute force on the sample: {got}/{want} = {got / max(want, 1):.4f}")


if __name__ == "__main__":
    main()
