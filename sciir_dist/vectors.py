"""Vector search over Lance tables: the index behind embedding dedup and
``sciir query panels --near-text/--near-image``.

Small tables are searched exactly (a flat scan is faster than training an
index); from ``INDEX_MIN_ROWS`` rows an IVF_PQ index with cosine metric is
built, and rebuilt once a fifth of the rows arrived after it (Lance searches
unindexed fragments exactly, so results stay complete meanwhile).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from sciir_dist.warehouse import Warehouse

INDEX_MIN_ROWS = 10_000
REINDEX_SHARE = 0.2
NPROBES = 16
REFINE = 4


def _sub_vectors(dim: int) -> int:
    for n in (dim // 16, dim // 8, dim // 4):
        if n and dim % n == 0:
            return n
    return 1


def ensure_index(wh: Warehouse, table: str, column: str) -> bool:
    """Build (or refresh) the cosine IVF_PQ index when the table is big enough;
    True when an index exists afterwards."""
    ds = wh.open(table)
    rows = ds.count_rows()
    if rows < INDEX_MIN_ROWS:
        return False
    indexed = [ix for ix in ds.list_indices() if column in ix.get("fields", [])]
    if indexed:
        covered = set(indexed[0]["fragment_ids"])
        fresh = sum(f.count_rows() for f in ds.get_fragments() if f.fragment_id not in covered)
        if fresh < REINDEX_SHARE * rows:
            return True
    dim = ds.schema.field(column).type.list_size
    ds.create_index(column, index_type="IVF_PQ", metric="cosine", replace=True,
                    num_partitions=max(1, int(math.sqrt(rows))), num_sub_vectors=_sub_vectors(dim))
    return True


def nearest(wh: Warehouse, table: str, column: str, query: np.ndarray, k: int, where: str | None = None,
            columns: list[str] | None = None, ds=None) -> pa.Table:
    """The k rows closest to ``query`` (cosine), with ``_distance`` = 1 - cos."""
    ds = ds or wh.open(table)
    cols = list(dict.fromkeys([*(columns or [ds.schema.names[0]]), "_distance"]))
    return ds.to_table(
        columns=cols, filter=where, prefilter=where is not None,
        nearest={"column": column, "q": np.asarray(query, np.float32), "k": k, "metric": "cosine",
                 "nprobes": NPROBES, "refine_factor": REFINE},
    )


def similar_pairs(wh: Warehouse, table: str, column: str, key: str, threshold: float, k: int = 10,
                  where: str | None = None) -> list[tuple[str, str, float]]:
    """(key_a, key_b, cosine) with cosine >= threshold, a < b: each row's k
    nearest neighbours, never all pairs."""
    ensure_index(wh, table, column)
    ds = wh.open(table)
    data = ds.to_table(columns=[key, column], filter=where)
    keys = data.column(key).to_pylist()
    vecs = data.column(column).combine_chunks()
    dim = vecs.type.list_size
    mat = vecs.values.to_numpy(zero_copy_only=False).reshape(-1, dim)

    def search(i: int) -> list[tuple[str, str, float]]:
        if not np.any(mat[i]):
            return []  # zero vector: nothing to match (e.g. no caption)
        hits = nearest(wh, table, column, mat[i], k + 1, where, [key], ds=ds)
        out = []
        for other, dist in zip(hits.column(key).to_pylist(), hits.column("_distance").to_pylist()):
            cos = 1.0 - float(dist)
            if other != keys[i] and cos >= threshold:
                out.append((min(keys[i], other), max(keys[i], other), cos))
        return out

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        found = {(a, b): c for chunk in pool.map(search, range(len(keys)), chunksize=64) for a, b, c in chunk}
    return [(a, b, c) for (a, b), c in sorted(found.items())]
