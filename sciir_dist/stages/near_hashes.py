"""Every pair of 64-bit hashes within Hamming distance k, exactly, without
comparing all pairs (the candidate search of SPEC §4 ``dedup``).

Generalised pigeonhole (multi-index hashing with radii): cut the bits into m
chunks with radii t_1..t_m summing to k - m + 1. Two hashes within distance
k differ in at most t_i bits on some chunk i, or else they would differ in
at least sum(t_i + 1) = k + 1 bits. So a hash's candidates are the hashes
whose chunk i equals its own with at most t_i bits flipped: one lookup per
flip mask in a direct-address table over the chunk's values (offsets into
the hashes sorted by that chunk). Each candidate is confirmed with the full
popcount, so no pair is missed and none is wrong. ``plan`` sizes the chunks
for the input: a longer chunk has fewer false candidates per lookup but more
masks per radius and a bigger table.

FAISS's binary indexes are not used: on 1M hashes (k=6, 2 cores)
IndexBinaryMultiHash (3 x 21 bits, 2 flips) answered 20k queries in 5 s and
IndexBinaryFlat in 17 s, i.e. minutes for the whole self-join, against
seconds here (its buckets are std::unordered_maps with a candidate set per
query; here a mask is a few vectorised passes). benches/dedup_search.py
times it beside this search when faiss-cpu is installed.

The work splits by query range against one shared index. A pair is reported
by the query whose chunk has a 0 at the mask's highest bit (the other side
would find it with the same mask), so each lookup is done once per pair and
ranges may be searched anywhere: ``near_pairs`` runs them as Ray tasks over
an index in the object store when Ray is up and the input is large, and in
process otherwise. Identical hashes are collapsed first, so a group of many
identical hashes (blank panels) costs its output, not its square.
"""

from __future__ import annotations

import itertools
import math
import sys
from dataclasses import dataclass

import numpy as np

BITS = 64
#: a chunk's table has 2**bits offsets; this caps it at 256 MiB (int32)
MAX_CHUNK_BITS = 26
#: relative costs in ``plan``'s model: a table lookup, a false candidate
#: (expanded, gathered and popcounted), a table slot to build (fresh pages
#: make big tables dear). Fitted on 2 cores at 1M hashes, where chunks of
#: 22/21/21 bits with radii 2/1/1 took 2.5 CPU-s, 23/20/21 3.0 and 24/20/20 3.2-4.1.
LOOKUP_COST, CANDIDATE_COST, SLOT_COST = 1.0, 4.0, 32.0
#: queries searched at a time, bounding each pass's temporaries
QUERY_BLOCK = 1 << 18
#: from this many distinct hashes the search runs as Ray tasks (when Ray is up)
RAY_MIN = 200_000
#: Ray tasks per cluster CPU, so uneven ranges still keep every CPU busy
TASKS_PER_CPU = 2


@dataclass(frozen=True)
class Chunk:
    """Bits ``shift .. shift + bits`` of the hash, searched within ``radius`` flips."""

    shift: int
    bits: int
    radius: int

    def key(self, hashes: np.ndarray) -> np.ndarray:
        return ((hashes >> np.uint64(self.shift)) & np.uint64((1 << self.bits) - 1)).astype(np.int64)

    def masks_by_top_bit(self) -> list[tuple[int, np.ndarray]]:
        """The non-zero flip masks of weight <= radius, grouped by their highest bit."""
        if not self.radius:
            return []
        return [(top, np.array([1 << top | sum(1 << b for b in low)
                                for w in range(self.radius) for low in itertools.combinations(range(top), w)], np.int64))
                for top in range(self.bits)]


def _chunk_cost(bits: int, radius: int, n: int) -> float:
    masks = sum(math.comb(bits, w) for w in range(radius + 1))
    return masks * (LOOKUP_COST + CANDIDATE_COST * n / 2**bits) + SLOT_COST * 2**bits / max(n, 1)


def _sized(radii: list[int], n: int) -> tuple[float, list[int]]:
    """The cheapest bits per chunk for these radii (dynamic programming over
    the bits used so far); bits left over stay uncovered, which only adds
    candidates."""
    best: dict[int, tuple[float, list[int]]] = {0: (0.0, [])}
    for t in radii:
        grown: dict[int, tuple[float, list[int]]] = {}
        for used, (cost, bits) in best.items():
            for b in range(1, min(MAX_CHUNK_BITS, BITS - used) + 1):
                c = cost + _chunk_cost(b, t, n)
                if used + b not in grown or c < grown[used + b][0]:
                    grown[used + b] = (c, [*bits, b])
        best = grown
    return min(best.values())


def plan(n: int, k: int) -> tuple[Chunk, ...]:
    """The cheapest chunking for ``n`` hashes and distance ``k`` under the
    cost model: for each chunk count m, the radii spread evenly over
    k - m + 1 (the longer radii on the first chunks), then the best bits."""
    if not 0 <= k < BITS:
        raise ValueError(f"k must be in [0, {BITS}), got {k}")
    options = []
    for m in range(1, k + 2):
        spare = k - m + 1
        radii = [spare // m + (i < spare % m) for i in range(m)]
        cost, bits = _sized(radii, n)
        shifts = np.cumsum([0, *bits[:-1]]).tolist()
        options.append((cost, tuple(Chunk(s, b, t) for s, b, t in zip(shifts, bits, radii))))
    return min(options)[1]


@dataclass(frozen=True)
class ChunkTable:
    """One chunk's direct-address table over the distinct hashes sorted by
    the chunk's value: their ids (``order``) and the hashes themselves in
    that order, where each value starts (``offsets[v] .. offsets[v+1]``), and
    which values occur at all (a 4x smaller table to miss in). Queries and
    candidates are positions in this order: a block of queries is a slice,
    and the probes of one mask land close together in the tables and in
    ``hashes``, ~8x faster than random gathers."""

    chunk: Chunk
    order: np.ndarray
    hashes: np.ndarray
    offsets: np.ndarray
    occupied: np.ndarray

    @classmethod
    def build(cls, chunk: Chunk, hashes: np.ndarray) -> ChunkTable:
        key = chunk.key(hashes)
        # one vectorised sort of (value, id) rather than a stable argsort: ~4x faster
        order = (np.sort(key << 32 | np.arange(len(key))) & 0xFFFFFFFF).astype(np.int32)
        counts = np.bincount(key, minlength=1 << chunk.bits)
        offsets = np.zeros(len(counts) + 1, np.int32)
        np.cumsum(counts, out=offsets[1:])  # straight into int32: no second table-sized temporary
        return cls(chunk, order, hashes[order], offsets, counts > 0)

    @property
    def nbytes(self) -> int:
        return self.order.nbytes + self.hashes.nbytes + self.offsets.nbytes + self.occupied.nbytes

    def lookup(self, probe: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index into ``probe``, position) of every hash whose chunk value is the probe."""
        hit = np.flatnonzero(self.occupied[probe])
        first = self.offsets[probe[hit]]
        count = self.offsets[probe[hit] + 1] - first
        if len(hit) == 0 or count.max() == 1:  # the usual case: no value shared
            return hit, first
        ends = np.cumsum(count)
        return np.repeat(hit, count), np.arange(ends[-1]) + np.repeat(first - ends + count, count)

    def search(self, lo: int, hi: int, k: int) -> np.ndarray:
        """Id pairs (i < j) within ``k`` that the queries at positions ``lo .. hi``
        report (see the module docstring for which side reports)."""
        queries = self.hashes[lo:hi]
        key = self.chunk.key(queries)
        q, c = self._confirm(queries, *self.lookup(key), k)
        found = [np.stack([q + lo, c], axis=1)[q + lo < c]]  # both sides see an equal chunk: report it once
        for top, masks in self.chunk.masks_by_top_bit():
            side = np.flatnonzero(((key >> top) & 1) == 0)
            hits = [self.lookup(key[side] ^ m) for m in masks]
            q, c = self._confirm(queries, side[np.concatenate([h[0] for h in hits])],
                                 np.concatenate([h[1] for h in hits]), k)
            found.append(np.stack([q + lo, c], axis=1))
        return np.sort(self.order[np.concatenate(found)].astype(np.int64), axis=1)

    def _confirm(self, queries: np.ndarray, q: np.ndarray, c: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        close = np.bitwise_count(queries[q] ^ self.hashes[c]) <= k
        return q[close], c[close]


@dataclass(frozen=True)
class HashIndex:
    """One table per chunk of ``plan`` over ``size`` distinct hashes (each
    table holds them in its own order)."""

    size: int
    k: int
    tables: tuple[ChunkTable, ...]

    @classmethod
    def build(cls, hashes: np.ndarray, k: int) -> HashIndex:
        if len(hashes) >= 2**31:
            raise ValueError("more than 2**31 distinct hashes: int32 table offsets would overflow")
        return cls(len(hashes), k, tuple(ChunkTable.build(c, hashes) for c in plan(len(hashes), k)))

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.tables)

    def search(self, lo: int, hi: int) -> np.ndarray:
        """Id pairs (i < j) within k that the queries at positions ``lo .. hi``
        of every table report; a pair may repeat."""
        return np.concatenate([np.empty((0, 2), np.int64)] + [
            t.search(start, min(start + QUERY_BLOCK, hi), self.k)
            for t in self.tables for start in range(lo, hi, QUERY_BLOCK)])


def _ray_is_up() -> bool:
    """Whether this process is connected to Ray; it cannot be unless
    something imported ray already, and importing it just to ask costs a
    second or more."""
    ray = sys.modules.get("ray")
    return ray is not None and ray.is_initialized()


def _search_ranges(index: HashIndex, sharded: bool) -> list[np.ndarray]:
    """All queries' pairs: in this process, or as Ray tasks over position
    ranges sharing one copy of the index per node (a task's ranges are
    searched in every table, so tasks are evenly sized)."""
    n = index.size
    if not sharded:
        return [index.search(0, n)]
    import ray

    tasks = max(1, int(ray.cluster_resources().get("CPU", 1)) * TASKS_PER_CPU)
    bounds = np.linspace(0, n, max(1, min(tasks, n)) + 1).astype(int).tolist()
    ref = ray.put(index)
    search = ray.remote(_search_range)
    return ray.get([search.remote(ref, lo, hi) for lo, hi in itertools.pairwise(bounds)])


def _search_range(index: HashIndex, lo: int, hi: int) -> np.ndarray:
    """A Ray task's share (module level, so workers import it by name)."""
    return index.search(lo, hi)


def _first_of_runs(sorted_values: np.ndarray) -> np.ndarray:
    """Whether each element differs from the one before it."""
    first = np.ones(len(sorted_values), bool)
    first[1:] = sorted_values[1:] != sorted_values[:-1]
    return first


def _expand(pairs: np.ndarray, members: np.ndarray, first: np.ndarray, n: int) -> np.ndarray:
    """Pairs of distinct hashes, possibly repeated, to all pairs of the
    original indices holding them (``members[first[u]:first[u + 1]]``),
    plus the pairs within each repeated hash, once each and sorted. Sorts
    and compares neighbours: numpy 2.4's ``np.unique`` of int64 is 15x slower."""
    size = np.diff(np.append(first, n))
    codes = np.sort(pairs[:, 0] * len(first) + pairs[:, 1])
    codes = codes[_first_of_runs(codes)]
    repeated = np.flatnonzero(size > 1)
    u = np.concatenate([codes // len(first), repeated])
    v = np.concatenate([codes % len(first), repeated])
    combos = size[u] * size[v]
    pid = np.repeat(np.arange(len(u)), combos)
    t = np.arange(combos.sum()) - np.repeat(np.cumsum(combos) - combos, combos)
    a = members[first[u[pid]] + t // size[v[pid]]]
    b = members[first[v[pid]] + t % size[v[pid]]]
    keep = (u[pid] != v[pid]) | (a < b)  # within a repeated hash: each pair once
    out = np.sort(np.minimum(a, b)[keep] * n + np.maximum(a, b)[keep])
    return np.stack([out // n, out % n], axis=1)


def near_pairs(hashes: np.ndarray, k: int, sharded: bool | None = None) -> np.ndarray:
    """Index pairs (i < j), sorted, with Hamming(hashes[i], hashes[j]) <= k.

    ``sharded``: search as Ray tasks (Ray must be initialised) or in this
    process; None: on Ray when it is initialised and there are at least
    ``RAY_MIN`` distinct hashes."""
    h = np.asarray(hashes, np.uint64)
    members = np.argsort(h)
    first = np.flatnonzero(_first_of_runs(h[members]))
    distinct = h[members[first]]
    if sharded is None:
        sharded = len(distinct) >= RAY_MIN and _ray_is_up()
    # the index is gone before the pairs are expanded: the two peaks do not add up
    found = np.concatenate(_search_ranges(HashIndex.build(distinct, k), sharded))
    return _expand(found, members, first, len(h))
