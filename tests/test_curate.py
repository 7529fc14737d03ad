"""Curation on local Ray: stages run engine-free and through the Ray engine,
each panel gets exactly one output, re-runs do only missing work, failures
become rejects, and curate runs safely beside a concurrent ingest."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.tables import PANELS
from sciir_dist.curate.run import run_curate
from sciir_dist.stages.hash import HashStage


def _unique(wh, table: str, key: str = "panel_id") -> bool:
    keys = wh.read(table, [key]).column(key)
    return pc.count_distinct(keys).as_py() == len(keys)


def test_hash_stage_is_engine_free(spark_warehouse, manifest):
    wh, _ = spark_warehouse
    ids = [pid for g in manifest["duplicate_groups"] for pid in g["members"]]
    rows = wh.read("panels", ["panel_id", "sha256", "source_width", "source_height"], where="panel_id IN (" + ", ".join(f"'{i}'" for i in ids) + ")")
    images = [wh.read_blob("panels", "image", f"panel_id = '{pid}'")[0] for pid in rows["panel_id"].to_pylist()]
    out = HashStage().process(rows.append_column("image", pa.array(images, pa.large_binary()))).rows
    h = dict(zip(out["panel_id"].to_pylist(), out["phash"].to_pylist()))
    sha = dict(zip(rows["panel_id"].to_pylist(), rows["sha256"].to_pylist()))
    for g in manifest["duplicate_groups"]:
        first, *rest = [m for m in g["members"] if m in h]
        for other in rest:
            if g["kind"] == "exact":
                assert sha[first] == sha[other]
            assert bin(h[first] ^ h[other]).count("1") <= 6, g  # near duplicates are pHash-close


def test_curate_hash_once_per_panel_and_rerun_does_nothing(warehouse_copy, ray_local):
    wh = warehouse_copy
    s = run_curate(wh, ["hash"], progress=False, commit_every=40)
    assert s.rows_in == wh.count("panels") == wh.count("panel_hashes")
    assert _unique(wh, "panel_hashes")
    v = wh.version("panel_hashes")
    again = run_curate(wh, ["hash"], progress=False)
    assert again.rows_in == 0 and wh.version("panel_hashes") == v
    # rows an older release hashed over the whole canvas are redone, by key
    old = wh.read("panel_hashes").slice(0, 3).set_column(4, "hash_region", pa.nulls(3, pa.string()))
    wh.upsert("panel_hashes", old)
    redo = run_curate(wh, ["hash"], progress=False)
    assert redo.rows_in == 3 and _unique(wh, "panel_hashes")
    assert wh.read("panel_hashes", ["hash_region"]).column(0).to_pylist() == ["content"] * wh.count("panels")
    from sciir_dist.query import query

    joined = query(wh, "panels", columns=["panel_id", "phash", "panel_letter"], limit=None)
    assert joined.num_rows == wh.count("panels") and joined["phash"].null_count == 0


def _add_broken_panel(wh, pid: str = "broken.fig1.p0") -> None:
    row = {"panel_id": pid, "figure_id": "broken.fig1", "article_id": "broken", "panel_index": 0,
           "bbox": [0, 0, 10, 10], "sha256": "00", "image": b"not a png"}
    wh.upsert("panels", pa.Table.from_pylist([row], schema=PANELS))


def test_unreadable_panel_becomes_a_reject_and_the_rest_complete(warehouse_copy, ray_local):
    wh = warehouse_copy
    _add_broken_panel(wh)
    s = run_curate(wh, ["hash"], progress=False)
    assert s.rejected == {"hash:unreadable_panel": 1}
    assert wh.count("panel_hashes") == wh.count("panels") - 1
    rej = wh.read("rejects", where="stage = 'hash'").to_pylist()
    assert [r["item"] for r in rej] == ["broken.fig1.p0"] and rej[0]["detail"]
    assert run_curate(wh, ["hash"], progress=False).rows_in == 0  # rejected panels are not retried...
    retry = run_curate(wh, ["hash"], progress=False, retry_rejects=True)  # ...unless asked
    assert retry.rows_in == 1 and wh.read("rejects", where="stage = 'hash'").num_rows == 1


def _curate_cmd(data) -> list[str]:
    return [sys.executable, "-m", "sciir_dist.cli", "curate", "--data", str(data), "--stages", "hash",
            "--commit-every", "4", "--batch-size", "4", "--no-progress"]


def test_kill_curate_and_rerun(warehouse_copy, ray_local):
    wh = warehouse_copy
    proc = subprocess.Popen(_curate_cmd(wh.root), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None and wh.count("panel_hashes") == 0:
        time.sleep(0.01)
    assert proc.poll() is None, "curate finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    partial = wh.count("panel_hashes")
    assert 0 < partial < wh.count("panels")
    s = run_curate(wh, ["hash"], progress=False)
    assert s.rows_in == wh.count("panels") - partial  # only the missing work
    assert wh.count("panel_hashes") == wh.count("panels") and _unique(wh, "panel_hashes")


def test_curate_beside_a_concurrent_ingest(warehouse_copy, ray_local, tmp_path):
    from sciir_dist.synth.corpus import generate

    wh = warehouse_copy
    more = tmp_path / "more"
    generate(more, articles=10, seed=77)  # new packages, new DOIs
    before = set(wh.read("panels", ["panel_id"]).column("panel_id").to_pylist())
    ingest = subprocess.Popen([sys.executable, "-m", "sciir_dist.cli", "ingest", "--input", str(more), "--data", wh.root,
                               "--engine", "local", "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    run_curate(wh, ["hash"], progress=False, commit_every=8, batch_size=8)
    assert ingest.wait(300) == 0, ingest.stderr.read()[-2000:]
    after = set(wh.read("panels", ["panel_id"]).column("panel_id").to_pylist())
    assert before < after and _unique(wh, "panels") and _unique(wh, "panel_hashes")
    hashed = set(wh.read("panel_hashes", ["panel_id"]).column("panel_id").to_pylist())
    assert before <= hashed  # nothing committed by either job was lost
    run_curate(wh, ["hash"], progress=False)  # a second run finishes the rest
    assert set(wh.read("panel_hashes", ["panel_id"]).column("panel_id").to_pylist()) == after


def test_content_box_is_where_standardize_put_the_source():
    from PIL import Image

    from sciir_dist.ingest.standardize import standardize
    from sciir_dist.stages.hash import content_box

    for size in ((600, 400), (90, 700), (1024, 1024), (3000, 41)):
        img = Image.new("RGB", size, (200, 30, 30))
        canvas = Image.open(io.BytesIO(standardize(img).png))
        x0, y0, x1, y1 = content_box(canvas.size, size)
        inside = np.asarray(canvas.crop((x0, y0, x1, y1)))
        assert (inside == (200, 30, 30)).all() and (x1 - x0, y1 - y0) == standardize(img).size, size
