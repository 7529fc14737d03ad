"""`dedup`: the near-hash search equals brute force (in process and as Ray
tasks), clusters recover the manifest's duplicate groups, representatives
follow the rule."""

from __future__ import annotations

import collections
import itertools

import numpy as np
import pytest

from sciir_dist.curate.run import run_curate
from sciir_dist.stages.dedup import clusters
from sciir_dist.stages import near_hashes


def planted(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random hashes and one copy of each exactly ``i % (k + 2)`` bits
    away (0..k: must be found; k + 1: must not), plus a run of identical
    hashes; returns the hashes and each copy's distance."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2**64, n, dtype=np.uint64)
    dist = np.arange(n) % (k + 2)
    flips = np.array([sum(1 << int(b) for b in rng.choice(64, d, replace=False)) for d in dist], np.uint64)
    return np.concatenate([base, base ^ flips, np.full(5, base[0])]), dist


def brute_force(h: np.ndarray, k: int) -> np.ndarray:
    i, j = np.nonzero(np.triu(np.bitwise_count(h[:, None] ^ h[None, :]) <= k, 1))
    return np.stack([i, j], axis=1)


@pytest.mark.parametrize("chunks", [
    None,  # the planner's choice for this size: exact chunks and radius-1 chunks
    ((0, 22, 2), (22, 21, 1), (43, 21, 1)),  # its choice around 1M hashes
    ((0, 20, 3), (20, 20, 2)),  # larger radii, and 24 bits in no chunk
])
def test_near_hash_search_equals_brute_force(chunks, monkeypatch):
    if chunks:
        monkeypatch.setattr(near_hashes, "plan", lambda n, k: tuple(near_hashes.Chunk(*c) for c in chunks))
    h, dist = planted(2000, 6, seed=len(chunks or ()))
    got = near_hashes.near_pairs(h, 6, sharded=False)
    assert np.array_equal(got, brute_force(h, 6))
    found = {tuple(p) for p in got.tolist()}
    assert all(((i, 2000 + i) in found) == (d <= 6) for i, d in enumerate(dist))  # 0..k found, k + 1 not


def test_near_hash_search_on_ray_equals_in_process(ray_local):
    h, _ = planted(3000, 6, seed=1)
    assert np.array_equal(near_hashes.near_pairs(h, 6, sharded=True), near_hashes.near_pairs(h, 6, sharded=False))


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


def test_copies_split_at_other_pixels_match_on_one_hashed_region():
    """A copy of a figure is split again, and its boxes rarely land on the
    original's pixels: one split takes a panel's pale tint and another only
    its ink, one box starts in the gutter and another a little inside. Each
    such pair still matches, on the ink box or on the interior; the whole
    content's hash alone (one region) misses the copy that lost its tint."""
    from PIL import Image, ImageDraw

    from sciir_dist.ingest.standardize import StandardizeOptions, standardize
    from sciir_dist.stages.hash import panel_hashes

    rng = np.random.default_rng(5)
    page = Image.new("RGB", (520, 420), "white")
    draw = ImageDraw.Draw(page)
    draw.rectangle((40, 40, 460, 360), fill=(236, 239, 245))  # the panel's pale tint
    for _ in range(25):  # its drawing, well inside the tint
        x, y = rng.integers(100, 380), rng.integers(110, 280)
        colour = tuple(int(c) for c in rng.integers(0, 160, 3))
        draw.ellipse((x, y, x + rng.integers(8, 40), y + rng.integers(8, 40)), outline=colour, width=3)
        draw.line((x, y, rng.integers(100, 420), rng.integers(110, 320)), fill=colour, width=2)
    boxes = {"tinted": (40, 40, 461, 361), "shifted": (30, 46, 452, 361), "ink_only": None}
    mask = np.abs(np.asarray(page.convert("L"), np.int16) - 240) > 40
    ys, xs = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    boxes["ink_only"] = (int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1)
    hashed = []
    for box in boxes.values():
        crop = page.crop(box)
        hashed.append(panel_hashes(standardize(crop, StandardizeOptions()).png, crop.size))
    ph = np.array([(h["phash"], h["phash_ink"]) for h in hashed], np.uint64)
    dh = np.array([(h["dhash"], h["dhash_ink"]) for h in hashed], np.uint64)
    ids, sha, pixels = list(boxes), ["s1", "s2", "s3"], np.array([3, 2, 1])
    both = clusters(ids, sha, ph, pixels, dhash=dh)
    assert both["dup_cluster"].to_pylist() == ["tinted"] * 3
    interior_only = clusters(ids, sha, ph[:, 0], pixels, dhash=dh[:, 0])
    assert len(set(interior_only["dup_cluster"].to_pylist())) > 1
