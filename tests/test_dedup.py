"""`dedup`: multi-index pHash search equals brute force, clusters recover the
manifest's duplicate groups, representatives follow the rule."""

from __future__ import annotations

import collections
import itertools

import numpy as np

from sciir_dist.curate.run import run_curate
from sciir_dist.stages.dedup import clusters, near_pairs


def test_multi_index_search_equals_brute_force():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2**63, 400, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, 400, dtype=np.uint64)
    flips = rng.integers(0, 64, (400, 8))
    near = base.copy()
    for i, bits in enumerate(flips):  # variants 0..8 bits away
        for b in bits[: i % 9]:
            near[i] ^= np.uint64(1) << np.uint64(int(b))
    h = np.concatenate([base, near])
    got = {tuple(p) for p in near_pairs(h, 6).tolist()}
    d = np.bitwise_count(h[:, None] ^ h[None, :])
    want = {(i, j) for i, j in zip(*np.nonzero(d <= 6)) if i < j}
    assert got == want and len(want) >= 300


def test_representative_is_largest_then_first_id():
    # a, b: same sha; d: 2 bits from them, most pixels; c: 16 bits away, alone; e, f: tie on pixels
    t = clusters(["b", "a", "c", "d", "f", "e"], ["s1", "s1", "s3", "s4", "s5", "s6"],
                 np.array([0, 0, 0xFFFF, 3, 0xF0F0F0F0F0F0F0F0, 0xF0F0F0F0F0F0F0F1], np.uint64), np.array([100, 100, 50, 10**6, 7, 7]))
    rows = {r["panel_id"]: r for r in t.to_pylist()}
    assert rows["d"]["dup_of"] is None and rows["d"]["dup_cluster_size"] == 3
    assert rows["a"]["dup_of"] == "d" and rows["b"]["dup_of"] == "d" and rows["a"]["dup_kind"] == "near"
    assert rows["c"]["dup_of"] is None and rows["c"]["dup_cluster_size"] == 1
    assert rows["e"]["dup_of"] is None and rows["f"]["dup_of"] == "e"  # tie: the smaller panel_id wins
    # a pHash match the dHash does not confirm is not a duplicate
    far_d = clusters(["x", "y"], ["s1", "s2"], np.array([0, 1], np.uint64), np.array([1, 1]),
                     dhash=np.array([0, 0xFFFF], np.uint64))
    assert far_d["dup_of"].to_pylist() == [None, None]


def test_embedding_neighbours_join_clusters_and_leakage_is_marked():
    ids = ["p1", "p2", "p3", "p4"]
    far = np.array([0, 0xFFFF, 0xFFFF0000, 0xFFFF00000000], np.uint64)  # no pHash pairs at all
    t = clusters(ids, ["s1", "s2", "s3", "s4"], far, np.array([1, 5, 1, 1]), similar=[("p1", "p2")],
                 bench_sources={"p1": "IR/All_Three/001.png", "missing": "x"})
    rows = {r["panel_id"]: r for r in t.to_pylist()}
    assert rows["p1"]["dup_of"] == "p2" and rows["p2"]["dup_cluster_size"] == 2
    assert rows["p1"]["bench_leak"] and rows["p2"]["bench_leak"]  # the whole cluster is kept out of training
    assert rows["p2"]["bench_leak_sample"] == "IR/All_Three/001.png"
    assert not rows["p3"]["bench_leak"] and rows["p3"]["dup_of"] is None


def test_dedup_recovers_manifest_groups(warehouse_copy, manifest, ray_local):
    run_curate(warehouse_copy, ["hash", "dedup"], progress=False)
    _check_against_manifest(warehouse_copy, manifest)


def test_dedup_with_embeddings_recovers_manifest_groups(curated_warehouse, manifest):
    """The offline chain (hash, embed, dedup, ...) adds embedding neighbours
    without costing precision."""
    wh, _ = curated_warehouse
    assert wh.count("panel_embeddings") == wh.count("panels")
    _check_against_manifest(wh, manifest)


def _check_against_manifest(wh, manifest) -> None:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for g in manifest["duplicate_groups"]:
        for m in g["members"][1:]:
            parent[find(m)] = find(g["members"][0])
    truth_clusters = collections.defaultdict(set)
    for g in manifest["duplicate_groups"]:
        for m in g["members"]:
            truth_clusters[find(m)].add(m)
    truth = {p for c in truth_clusters.values() for p in itertools.combinations(sorted(c), 2)}
    by = collections.defaultdict(list)
    rows = wh.read("panel_dedup").to_pylist()
    for r in rows:
        by[r["dup_cluster"]].append(r["panel_id"])
    pred = {p for ms in by.values() for p in itertools.combinations(sorted(ms), 2)}
    assert truth, "the corpus has duplicates"
    tp = len(truth & pred)
    assert tp / len(pred) >= 0.95 and tp / len(truth) >= 0.95, (len(truth), len(pred), tp)
    assert len(rows) == wh.count("panels")
    assert all((r["dup_of"] is None) == (r["dup_cluster"] == r["panel_id"]) for r in rows)
    from sciir_dist.query import query

    reps = query(wh, "panels", where="dup_of IS NULL", columns=["panel_id"], limit=None)
    assert reps.num_rows == len(by)


def test_embedding_threshold_follows_the_model_that_wrote_the_vectors():
    from sciir_dist.stages.dedup import DEFAULT_COSINE, OFFLINE_COSINE, default_cosine

    assert default_cosine({"open_clip:ViT-B-32:openai"}) == DEFAULT_COSINE == 0.95
    assert default_cosine({"efficientnet-lite0"}) == OFFLINE_COSINE
    assert default_cosine({"efficientnet-lite0", "open_clip:ViT-B-32:openai"}) == OFFLINE_COSINE  # the strictest
    assert default_cosine(set()) == DEFAULT_COSINE
