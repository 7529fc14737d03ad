"""pHash near-duplicate search (SPEC §10): every pair within Hamming distance
k among N 64-bit hashes. Half of the hashes are near copies (0..k bit flips)
of the other half, as a corpus with many reposted figures would be.

Per size in ``--sizes``: `near_hashes.near_pairs` in this process and as
Ray tasks on a local Ray of ``--cpus`` CPUs (workers started beforehand);
the index each node holds (bytes per hash) and this process's peak RSS;
recall against brute force on a sample of queries, and whether every
reported pair is within k. The multi-index search it replaced (k+1 exact
chunks grouped in numpy, at commit e881ea7) is loaded from git history and
timed in the same run for sizes up to ``--baseline-max`` (its buckets of
2**9 values make it quadratic: ~50 s at 1M); without git history that
column is left out. With faiss-cpu installed, FAISS's IndexBinaryMultiHash
(3 chunks, k // 3 flips: exact) is timed on the sampled queries and
extrapolated to all.

    python benches/dedup_search.py [--sizes 1000000,10000000] [--k 6] [--sample 1000] [--cpus 2]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from git_baseline import module_at  # noqa: E402  (benches/ is on the path of a bench script)
from sciir_dist.stages.near_hashes import HashIndex, near_pairs  # noqa: E402

BASELINE_COMMIT = "e881ea7"


def make_hashes(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    base = rng.integers(0, 2**63, n // 2, dtype=np.uint64) << np.uint64(1) | rng.integers(0, 2, n // 2, dtype=np.uint64)
    near = base.copy()
    flips = rng.integers(0, k + 1, len(base))
    for f in range(1, k + 1):
        idx = np.flatnonzero(flips >= f)
        near[idx] ^= np.uint64(1) << rng.integers(0, 64, len(idx)).astype(np.uint64)
    return np.concatenate([base, near])


def baseline() -> Callable[[np.ndarray, int], np.ndarray] | None:
    """The replaced ``near_pairs``, from git history (None without it)."""
    module = module_at(BASELINE_COMMIT, "sciir_dist/stages/dedup.py", "dedup_before")
    return module.near_pairs if module else None


def timed(fn: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def recall(h: np.ndarray, pairs: np.ndarray, k: int, queries: np.ndarray) -> tuple[int, int, float]:
    """(found, true) pairs involving the sampled queries, and the brute-force
    seconds per query (a full popcount scan)."""
    partners: dict[int, set[int]] = {int(q): set() for q in queries}
    for i, j in pairs.tolist():
        if i in partners:
            partners[i].add(j)
        if j in partners:
            partners[j].add(i)
    t = time.perf_counter()
    truth = {int(q): set(np.flatnonzero(np.bitwise_count(h ^ h[q]) <= k).tolist()) - {int(q)} for q in queries}
    per_query = (time.perf_counter() - t) / len(queries)
    return sum(len(truth[q] & partners[q]) for q in truth), sum(len(t) for t in truth.values()), per_query


def faiss_seconds(h: np.ndarray, k: int, sample: int) -> float | None:
    """FAISS's multi-index hash over the distinct hashes: build, plus range
    search of ``sample`` of them scaled to all (None without faiss)."""
    try:
        import faiss
    except ImportError:
        return None
    x = np.unique(h).view(np.uint8).reshape(-1, 8)
    t = time.perf_counter()
    index = faiss.IndexBinaryMultiHash(64, 3, 21)
    index.nflip = k // 3  # some chunk is within k // 3 flips: exact
    index.add(x)
    build = time.perf_counter() - t
    t = time.perf_counter()
    index.range_search(x[:: max(1, len(x) // sample)][:sample], k + 1)  # radius is exclusive
    return build + (time.perf_counter() - t) / sample * len(x)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(n: int, args: argparse.Namespace, old: Callable[[np.ndarray, int], np.ndarray] | None) -> None:
    rng = np.random.default_rng(0)
    h = make_hashes(n, args.k, rng)
    index = HashIndex.build(np.unique(h), args.k)
    local_s, pairs = timed(lambda: near_pairs(h, args.k, sharded=False))
    ray_s, ray_pairs = timed(lambda: near_pairs(h, args.k, sharded=True))
    within = bool(np.all(np.bitwise_count(h[pairs[:, 0]] ^ h[pairs[:, 1]]) <= args.k))
    got, want, brute_q = recall(h, pairs, args.k, rng.choice(n, args.sample, replace=False))
    print(f"\n{n:,} hashes, k={args.k}: {len(pairs):,} pairs within k (every one checked: {within}); "
          f"chunks {[(t.chunk.bits, t.chunk.radius) for t in index.tables]} (bits, radius)")
    print(f"  in process:        {local_s:7.2f} s")
    print(f"  Ray, {args.cpus} CPUs:       {ray_s:7.2f} s  (same pairs: {np.array_equal(pairs, ray_pairs)}; "
          f"{local_s / ray_s:.2f}x in process)")
    if old is not None and n <= args.baseline_max:
        old_s, old_pairs = timed(lambda: old(h, args.k))
        print(f"  replaced search:   {old_s:7.2f} s  (same pairs: {np.array_equal(pairs, old_pairs)}; "
              f"new is {old_s / ray_s:.1f}x faster on Ray, {old_s / local_s:.1f}x in process)")
    faiss_s = faiss_seconds(h, args.k, args.sample)
    if faiss_s is not None:
        print(f"  FAISS MultiHash:   {faiss_s:7.0f} s  (extrapolated from {args.sample} queries; "
              f"{faiss_s / ray_s:.0f}x the Ray time)")
    print(f"  brute force:       {brute_q * n:7.0f} s  (extrapolated from {args.sample} queries; "
          f"{brute_q * n / ray_s:.0f}x the Ray time)")
    print(f"  recall vs brute force on {args.sample} queries: {got}/{want} = {got / max(want, 1):.4f}")
    print(f"  index per node: {index.nbytes / 2**20:.0f} MiB ({index.nbytes / len(index.tables[0].order):.1f} B "
          f"per distinct hash); this process's peak RSS so far: {peak_rss_mib():.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000000,10000000", help="comma-separated hash counts")
    ap.add_argument("--k", type=int, default=6)
    ap.add_argument("--sample", type=int, default=1000, help="queries checked against brute force")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance")
    ap.add_argument("--baseline-max", type=int, default=1_000_000, help="largest size to time the replaced search on")
    args = ap.parse_args()
    from sciir_dist.engines.ray import init_ray

    init_ray(num_cpus=args.cpus)
    near_pairs(make_hashes(1000, args.k, np.random.default_rng(1)), args.k, sharded=True)  # start the workers
    old = baseline()
    for n in (int(s) for s in args.sizes.split(",")):
        run(n, args, old)


if __name__ == "__main__":
    main()
