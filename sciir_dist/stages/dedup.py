"""`dedup`: near-duplicate clusters over all panels (SPEC §4 step 3).

Two panels are duplicates when their sha256 match (exact) or their 64-bit
pHashes of one region (the ``hash`` stage hashes each panel's interior and
its ink box) are within Hamming distance ``k`` (near). ``near_hashes`` finds
those pairs exactly without comparing all pairs (multi-index hashing, on
Ray tasks when Ray is up and there are many panels). A pHash match is then
confirmed by the same region's dHash (also <= k): sparse line drawings on
white collide in pHash's few low frequencies, while their gradient hashes
stay far apart (benches and tests measure the precision this buys). Clusters are the
connected components of the duplicate pairs; the representative is the
panel with the most source pixels, then the smallest panel_id (ids sort by
article, so the choice is stable across runs). Others get ``dup_of``.

Pairs whose image embeddings have cosine >= ``t`` (from the ``embed``
stage, found through the Lance vector index) join the same clusters. The
default ``t`` depends on the model that wrote the vectors (see
``default_cosine``).

Leakage guard: every member of a cluster that holds the source panel of a
benchmark sample (``bench_samples.source``), or whose embedding is that
close to one, is marked ``bench_leak`` so training never sees it.

Dedup is global (a new panel can join an old cluster), so each run
recomputes every panel's row; it needs the ``hash`` stage's output and uses
``embed``'s when present.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from pydantic import Field
from scipy.sparse.csgraph import connected_components

from typing import Any

from schemas.tables import PANEL_DEDUP
from sciir_dist.backends import efficientnet
from sciir_dist.stages.base import GlobalStage
from sciir_dist.stages.near_hashes import near_pairs
from sciir_dist.stages.registry import StageOptions, register

DEFAULT_K = 6
DEFAULT_COSINE = 0.95  # SPEC §4, for CLIP-family embeddings
#: The offline EfficientNet-Lite0's pooled ImageNet features put distinct
#: panels closer together: on the 300-article demo corpus duplicates scored
#: >= 0.992 while distinct text-only panels and charts reached 0.987, and 0.95
#: merged 121 distinct pairs (0.99: none, and no duplicate missed).
OFFLINE_COSINE = 0.99


def clusters(panel_ids: list[str], sha256: list[str], phash: np.ndarray, pixels: np.ndarray, k: int = DEFAULT_K,
             dhash: np.ndarray | None = None, similar: list[tuple[str, str]] = (),
             bench_sources: dict[str, str] | None = None) -> pa.Table:
    """``phash``/``dhash``: one hash per panel, or a column per hashed region
    (``(n, regions)``); ``similar``: extra duplicate pairs by panel_id
    (embedding neighbours); ``bench_sources``: panel_id -> benchmark sample_id."""
    n = len(panel_ids)
    near = _near(phash, dhash, k)
    _, exact_idx = np.unique(np.asarray(sha256, dtype=object), return_inverse=True)
    order = np.argsort(exact_idx, kind="stable")
    same = exact_idx[order][1:] == exact_idx[order][:-1]
    exact = np.stack([order[:-1][same], order[1:][same]], axis=1) if n > 1 else np.empty((0, 2), np.int64)
    pos = {p: i for i, p in enumerate(panel_ids)}
    emb = np.array([(pos[a], pos[b]) for a, b in similar if a in pos and b in pos], np.int64).reshape(-1, 2)
    pairs = np.concatenate([near.reshape(-1, 2), exact.reshape(-1, 2), emb]).astype(np.int64)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)) if len(pairs) else coo_matrix((n, n))
    _, label = connected_components(graph, directed=False)
    # representative: most pixels, then smallest panel_id
    rank = np.lexsort((np.asarray(panel_ids, dtype=object).argsort().argsort(), -pixels))
    rep_of_label: dict[int, int] = {}
    for i in rank:
        rep_of_label.setdefault(int(label[i]), int(i))
    sizes = np.bincount(label, minlength=label.max() + 1 if n else 0)
    leak_of_label: dict[int, str] = {}
    for pid, sample in sorted((bench_sources or {}).items()):
        if pid in pos:
            leak_of_label.setdefault(int(label[pos[pid]]), sample)
    rows = []
    for i, pid in enumerate(panel_ids):
        rep = rep_of_label[int(label[i])]
        kind = None
        if rep != i:
            kind = "exact" if sha256[i] == sha256[rep] else "near"
        rows.append({
            "panel_id": pid,
            "dup_cluster": panel_ids[rep],
            "dup_of": None if rep == i else panel_ids[rep],
            "dup_kind": kind,
            "dup_cluster_size": int(sizes[label[i]]),
            "bench_leak": int(label[i]) in leak_of_label,
            "bench_leak_sample": leak_of_label.get(int(label[i])),
        })
    return pa.Table.from_pylist(rows, schema=PANEL_DEDUP)


def _near(phash: np.ndarray, dhash: np.ndarray | None, k: int) -> np.ndarray:
    """Index pairs within ``k`` on some region's pHash, and on its dHash when given."""
    ph = np.asarray(phash, np.uint64).reshape(len(phash), -1)
    dh = None if dhash is None else np.asarray(dhash, np.uint64).reshape(ph.shape)
    found = [np.empty((0, 2), np.int64)]
    for region in range(ph.shape[1]):
        near = near_pairs(ph[:, region], k).reshape(-1, 2)
        if dh is not None:
            near = near[np.bitwise_count(dh[near[:, 0], region] ^ dh[near[:, 1], region]) <= k]
        found.append(near)
    return np.concatenate(found)


def default_cosine(image_models: set[str]) -> float:
    """The duplicate threshold for vectors written by these models (the
    strictest when a table holds several)."""
    return max((OFFLINE_COSINE if m == efficientnet.NAME else DEFAULT_COSINE for m in image_models),
               default=DEFAULT_COSINE)


@register
class DedupStage(GlobalStage):
    name = "dedup"
    output_table = "panel_dedup"
    requires = {"panels": ("panel_id", "source_width", "source_height"),
                "panel_hashes": ("panel_id", "sha256", "phash", "dhash", "phash_ink", "dhash_ink")}

    class Options(StageOptions):
        k: int = Field(DEFAULT_K, ge=0, le=32, description="pHash Hamming distance for near duplicates.")
        cosine: float | None = Field(None, gt=0, le=1, description=(
            "Image-embedding cosine for duplicates (default 0.95 for open_clip, 0.99 for the offline "
            "EfficientNet-Lite0)."))

    @classmethod
    def build(cls, backends, options: Options) -> "DedupStage":
        return cls(options.k, options.cosine)

    def __init__(self, k: int = DEFAULT_K, cosine: float | None = None) -> None:
        self.k = k
        self.cosine = cosine  # None: the embedding model's default

    def load(self, wh) -> dict[str, Any]:
        from sciir_dist.vectors import similar_pairs

        inputs = super().load(wh)
        inputs["similar"] = []
        if wh.exists("panel_embeddings") and wh.count("panel_embeddings"):
            cosine = self.cosine
            if cosine is None:
                cosine = default_cosine(set(wh.read("panel_embeddings", ["image_model"])["image_model"].unique().to_pylist()))
            inputs["similar"] = [(a, b) for a, b, _ in similar_pairs(
                wh, "panel_embeddings", "image_embedding", "panel_id", cosine)]
        inputs["bench_sources"] = {}
        if wh.exists("bench_samples"):
            samples = wh.read("bench_samples", ["sample_id", "source"], where="source IS NOT NULL")
            inputs["bench_sources"] = dict(zip(samples["source"].to_pylist(), samples["sample_id"].to_pylist()))
        return inputs

    def compute(self, inputs: dict[str, Any]) -> pa.Table:
        joined = inputs["panels"].join(inputs["panel_hashes"], "panel_id", join_type="inner").sort_by("panel_id")
        pixels = (np.asarray(joined["source_width"].to_numpy(zero_copy_only=False), np.int64)
                  * np.asarray(joined["source_height"].to_numpy(zero_copy_only=False), np.int64))
        return clusters(joined["panel_id"].to_pylist(), joined["sha256"].to_pylist(),
                        _regions(joined, "phash"), pixels, self.k, dhash=_regions(joined, "dhash"),
                        similar=inputs.get("similar", ()), bench_sources=inputs.get("bench_sources"))


def _regions(hashes: pa.Table, name: str) -> np.ndarray:
    """``(n, 2)``: the hash of each panel's interior and of its ink box (a
    row of an older hash stage, without ink boxes, has its one hash twice)."""
    ink = pc.coalesce(hashes[f"{name}_ink"], hashes[name])
    return np.stack([hashes[name].to_numpy(zero_copy_only=False), ink.to_numpy(zero_copy_only=False)], axis=1)
