"""Warehouse commit protocol: upserts replace by key in one transaction, and
concurrent writers (appends racing deletes) never lose a row."""

from __future__ import annotations

import multiprocessing as mp

import pyarrow as pa
import pyarrow.compute as pc

from schemas.tables import REJECTS
from sciir_dist.warehouse import Warehouse, write_fragments


def rows(keys: list[str], detail: str) -> pa.Table:
    return pa.Table.from_pylist(
        [{"reject_id": k, "item": k, "stage": "test", "reason": "r", "detail": detail} for k in keys], schema=REJECTS
    )


def test_upsert_replaces_by_key_in_one_version(tmp_path):
    wh = Warehouse(str(tmp_path))
    wh.upsert("rejects", rows(["a", "b", "c"], "v1"))
    v = wh.version("rejects")
    wh.upsert("rejects", rows(["b", "d"], "v2"))
    assert wh.version("rejects") == v + 1
    got = {r["reject_id"]: r["detail"] for r in wh.read("rejects").to_pylist()}
    assert got == {"a": "v1", "b": "v2", "c": "v1", "d": "v2"}


def test_uncommitted_fragments_are_invisible(tmp_path):
    wh = Warehouse(str(tmp_path))
    wh.upsert("rejects", rows(["a"], "v1"))
    write_fragments(wh, "rejects", rows(["x", "y"], "orphan"))  # a killed worker's output
    assert wh.read("rejects").column("reject_id").to_pylist() == ["a"]


def _writer(root: str, kind: str, n: int) -> None:
    wh = Warehouse(root)
    for i in range(n):
        if kind.startswith("append"):
            frags = write_fragments(wh, "rejects", rows([f"{kind}-{i}"], "appended"))
            wh.commit_upsert("rejects", frags)
        else:  # rewrite existing keys: deletion vectors + new fragments
            keys = [f"base-{j}" for j in range(i % 5, 20, 5)]
            frags = write_fragments(wh, "rejects", rows(keys, f"round-{i}"))
            wh.commit_upsert("rejects", frags, replace_keys={"reject_id": keys})


def test_concurrent_append_and_upsert_lose_nothing(tmp_path):
    root = str(tmp_path)
    wh = Warehouse(root)
    wh.upsert("rejects", rows([f"base-{j}" for j in range(20)], "initial"))
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(root, kind, 12)) for kind in ("append1", "upsert", "append2")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    keys = wh.read("rejects", ["reject_id"]).column("reject_id")
    assert pc.count_distinct(keys).as_py() == len(keys)  # no duplicates
    got = set(keys.to_pylist())
    assert {f"base-{j}" for j in range(20)} <= got
    assert {f"append{w}-{i}" for w in (1, 2) for i in range(12)} <= got
    assert len(got) == 44
    final = {r["reject_id"]: r["detail"] for r in wh.read("rejects").to_pylist()}
    assert final["base-4"] == "round-9"  # the upserter's last round on that key won


def test_dedupe_keeps_the_newest_row_per_key(tmp_path):
    wh = Warehouse(str(tmp_path))
    wh.upsert("rejects", rows(["a", "b"], "old"))
    # two writers that each found nothing to replace: plain appends of the same key
    wh.commit_upsert("rejects", write_fragments(wh, "rejects", rows(["a"], "new")))
    assert wh.count("rejects") == 3
    assert wh.dedupe("rejects", "reject_id IN ('a', 'b')") == 1
    assert {r["reject_id"]: r["detail"] for r in wh.read("rejects").to_pylist()} == {"a": "new", "b": "old"}
    assert wh.dedupe("rejects") == 0


def test_a_table_from_an_older_release_gains_the_declared_columns(tmp_path):
    """Warehouses outlive releases: a table written without a column that is
    declared now (here `articles.abstracts`) takes new rows, old rows null."""
    import lance

    from schemas.tables import ARTICLES

    wh = Warehouse(str(tmp_path))
    old = pa.schema([f for f in ARTICLES if f.name != "abstracts"])
    lance.write_dataset(pa.Table.from_pylist([{"article_id": "old"}], schema=old), wh.uri("articles"))
    new = pa.Table.from_pylist([{"article_id": "new", "abstracts": [{"type": "teaser", "text": "t"}]}], schema=ARTICLES)
    wh.upsert("articles", new)
    got = {r["article_id"]: r["abstracts"] for r in wh.read("articles").to_pylist()}
    assert got == {"old": None, "new": [{"type": "teaser", "text": "t"}]}


def _hashes(keys: list[str], region: str) -> pa.Table:
    from schemas.tables import PANEL_HASHES

    return pa.Table.from_pylist([{"panel_id": k, "sha256": k, "phash": 1, "dhash": 2, "hash_region": region}
                                 for k in keys], schema=PANEL_HASHES)


def test_big_tables_look_keys_up_through_a_current_btree_index(tmp_path):
    """Issue 12 item 3: past INDEX_MIN_ROWS the key column gets a BTREE index,
    new fragments are folded into it after each commit, and a replace finds
    its rows through it (by row address) and touches only their fragments."""
    from sciir_dist.warehouse import INDEX_MIN_ROWS

    wh = Warehouse(str(tmp_path))
    keys = [f"p{i:06d}" for i in range(INDEX_MIN_ROWS + 500)]
    wh.upsert("panel_hashes", _hashes(keys, "old"))
    ds = wh.open("panel_hashes")
    (index,) = [d for d in ds.describe_indices() if d.field_names == ["panel_id"]]
    assert "BTree" in index.type_url
    plan = ds.scanner(columns=[], filter="panel_id IN ('p000007')", with_row_address=True).explain_plan()
    assert "ScalarIndexQuery" in plan
    before = {f.fragment_id: f.count_rows() for f in ds.get_fragments()}

    changed = keys[5:15] + ["new-1"]
    wh.upsert("panel_hashes", _hashes(changed, "new"))
    ds = wh.open("panel_hashes")
    assert ds.count_rows() == len(keys) + 1
    got = dict(zip(*wh.read("panel_hashes", ["panel_id", "hash_region"]).to_pydict().values()))
    assert {k for k, v in got.items() if v == "new"} == set(changed)
    assert ds.stats.index_stats(index.name)["num_unindexed_fragments"] == 0  # the new fragment is indexed
    # the old fragments keep their rows except the ten replaced ones, which all sat in the first
    after = {f.fragment_id: f.count_rows() for f in ds.get_fragments() if f.fragment_id in before}
    assert sum(before.values()) - sum(after.values()) == 10


def test_many_small_fragments_are_compacted_without_losing_rows(tmp_path):
    from sciir_dist.warehouse import COMPACT_SMALL_FRAGMENTS

    wh = Warehouse(str(tmp_path))
    for i in range(COMPACT_SMALL_FRAGMENTS + 2):  # one small fragment per commit, as curation batches leave them
        wh.upsert("panel_hashes", _hashes([f"p{i}-a", f"p{i}-b"], f"v{i}"))
    wh.upsert("panel_hashes", _hashes(["p0-a", "p3-b"], "again"))
    ds = wh.open("panel_hashes")
    assert len(ds.get_fragments()) < COMPACT_SMALL_FRAGMENTS
    table = wh.read("panel_hashes", ["panel_id", "hash_region"]).to_pylist()
    assert len(table) == 2 * (COMPACT_SMALL_FRAGMENTS + 2) and len({r["panel_id"] for r in table}) == len(table)
    got = {r["panel_id"]: r["hash_region"] for r in table}
    assert got["p0-a"] == got["p3-b"] == "again" and got["p0-b"] == "v0" and got["p9-a"] == "v9"


def test_index_segments_merge_by_size_tiers():
    from sciir_dist.warehouse import INDEX_MAX_SEGMENTS, _segments_to_merge

    assert _segments_to_merge([1_000_000], 10) == 0  # a new delta: the big segment is not rewritten
    assert _segments_to_merge([1_000_000, 10], 10) == 1  # equal sizes merge
    assert _segments_to_merge([1_000_000, 40, 20, 10], 10) == 3  # and carry on like a binary counter
    assert _segments_to_merge([1_000_000, 10], 2_000_000) == 2
    many = [1_000_000] + [5] * (INDEX_MAX_SEGMENTS - 1)
    assert len(many) - _segments_to_merge(many, 1) + 1 <= INDEX_MAX_SEGMENTS  # a cap whatever the sizes


def test_commits_to_an_indexed_table_add_index_deltas_not_rewrites(tmp_path):
    """Each commit's fragments join the key index as a small segment, merged
    with segments of its size only: the segment over the original rows stays
    as written (a commit does not re-index the table)."""
    from sciir_dist.warehouse import INDEX_MIN_ROWS

    wh = Warehouse(str(tmp_path))
    keys = [f"p{i:06d}" for i in range(INDEX_MIN_ROWS + 500)]
    wh.upsert("panel_hashes", _hashes(keys, "old"))
    (index,) = wh.open("panel_hashes").describe_indices()
    base = index.segments[0].uuid
    for i in range(12):
        wh.upsert("panel_hashes", _hashes([keys[i * 7], f"new-{i}"], f"v{i}"))
    ds = wh.open("panel_hashes")
    (index,) = ds.describe_indices()
    assert index.segments[0].uuid == base and 1 < len(index.segments) <= 5
    assert ds.stats.index_stats(index.name)["num_unindexed_fragments"] == 0
    got = dict(zip(*wh.read("panel_hashes", ["panel_id", "hash_region"]).to_pydict().values()))
    assert len(got) == ds.count_rows() == len(keys) + 12 and got[keys[77]] == "v11" and got["new-3"] == "v3"


def test_a_table_of_many_small_fragments_is_compacted_a_slice_per_commit(tmp_path):
    """A table left with thousands of small fragments (an older release, one
    per actor batch) is not rewritten in one commit: each commit compacts at
    most COMPACT_MAX_SOURCE_FRAGMENTS of them, oldest first, losing nothing."""
    import lance
    from lance.fragment import FragmentMetadata

    from sciir_dist.warehouse import COMPACT_MAX_SOURCE_FRAGMENTS

    wh = Warehouse(str(tmp_path))
    wh.ensure("panel_hashes")
    n = 3 * COMPACT_MAX_SOURCE_FRAGMENTS
    metas = [FragmentMetadata.from_json(f) for i in range(n)
             for f in write_fragments(wh, "panel_hashes", _hashes([f"p{i}-a", f"p{i}-b"], "old"))]
    lance.LanceDataset.commit(wh.uri("panel_hashes"), lance.LanceOperation.Append(metas),
                              read_version=wh.version("panel_hashes"))
    counts = []
    for i in range(3):
        wh.upsert("panel_hashes", _hashes([f"p{i}-a"], f"new{i}"))
        counts.append(len(wh.open("panel_hashes").get_fragments()))
    assert counts[0] >= n + 1 - COMPACT_MAX_SOURCE_FRAGMENTS and counts[2] < counts[1] < counts[0]
    table = wh.read("panel_hashes", ["panel_id", "hash_region"]).to_pylist()
    got = {r["panel_id"]: r["hash_region"] for r in table}
    assert len(table) == len(got) == 2 * n and got["p1-a"] == "new1" and got["p1-b"] == "old"
