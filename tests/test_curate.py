"""Curation on local Ray: stages run engine-free and through the Ray engine,
each panel gets exactly one output, re-runs do only missing work, failures
become rejects, and curate runs safely beside a concurrent ingest."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from schemas.tables import PANELS
from sciir_dist.curate.run import run_curate
from sciir_dist.stages.hash import REGION, HashStage
from sciir_dist.warehouse import Warehouse


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
    wh.upsert("panel_hashes", _hashed_by_an_older_release(wh.read("panel_hashes").slice(0, 3)))
    redo = run_curate(wh, ["hash"], progress=False)
    assert redo.rows_in == 3 and _unique(wh, "panel_hashes")
    assert wh.read("panel_hashes", ["hash_region"]).column(0).to_pylist() == [REGION] * wh.count("panels")
    assert wh.read("panel_hashes", ["phash_ink", "dhash_ink"]).drop_null().num_rows == wh.count("panels")
    from sciir_dist.query import query

    joined = query(wh, "panels", columns=["panel_id", "phash", "panel_letter"], limit=None)
    assert joined.num_rows == wh.count("panels") and joined["phash"].null_count == 0


def _hashed_by_an_older_release(rows: pa.Table) -> pa.Table:
    """The rows as a release that hashed the whole canvas wrote them: no region, no ink-box hashes."""
    for name, column in (("hash_region", pa.nulls(rows.num_rows, pa.string())),
                         ("phash_ink", pa.nulls(rows.num_rows, pa.uint64())),
                         ("dhash_ink", pa.nulls(rows.num_rows, pa.uint64()))):
        rows = rows.set_column(rows.schema.get_field_index(name), name, column)
    return rows


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
    again = wh.read("rejects", where="stage = 'hash'").to_pylist()
    assert retry.rows_in == 1 and len(again) == 1
    assert again[0]["detail"] == rej[0]["detail"] and " at 0x" not in rej[0]["detail"]  # the same words every run


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


def _snapshot(wh, tables: list[str]) -> dict[str, list[dict]]:
    """Every row of ``tables`` (blobs aside), in key order; a reject's detail
    is left out (PIL's message names the address of its buffer)."""
    from schemas.tables import key_of

    out = {}
    for t in tables:
        rows = wh.read(t).to_pylist()
        out[t] = sorted(({k: v for k, v in r.items() if (t, k) != ("rejects", "detail")} for r in rows),
                        key=lambda r: r[key_of(t)])
    return out


def _fix_broken_panel(wh, pid: str = "broken.fig1.p0") -> None:
    """The panel rejected as unreadable gets a readable image (its source was mended)."""
    good = wh.read("panels", where=f"panel_id != '{pid}'").slice(0, 1)
    image = wh.read_blob("panels", "image", f"panel_id = '{good['panel_id'][0].as_py()}'")[0]
    row = good.to_pylist()[0] | {"panel_id": pid, "figure_id": "broken.fig1", "article_id": "broken", "image": image}
    wh.upsert("panels", pa.Table.from_pylist([row], schema=PANELS))


# (kill point, tables whose commits are counted, n, stages, retry rejects)
KILL_WINDOWS = {
    # the first batch is back, its fragments written (orphans to be), nothing committed yet
    "mid-batch": ("batch", "", 1, "hash", False),
    # a checkpoint commits the stage's rejects and its table one after the other: killed between the two,
    # in a --retry-rejects run whose only items are a mended panel rejected before and rows to redo
    "between-rejects-and-output": ("commit", "panel_hashes,rejects", 2, "hash", True),
    # hash all done and committed, discipline (articles; a fake text model failing some) killed before its
    # second checkpoint's commits
    "later-stage": ("commit", "article_discipline", 2, "hash,discipline", False),
}


@pytest.mark.parametrize("window", list(KILL_WINDOWS))
def test_kill_curate_at_checkpoint_windows_and_rerun(window, warehouse_copy, killed_cli, tmp_path):
    """SIGKILL at different moments of the driver's checkpoint commits, then a
    re-run: the tables equal a clean run of the same stages on a copy of the
    same warehouse, keys stay unique and the killed run stays visible. (The
    commit windows are the driver's, whatever the engine: local keeps it quick.)"""
    from sciir_dist.backends.fake_openai import FakeConfig, FakeOpenAI, Fault
    from sciir_dist.backends.openai import EndpointSettings
    from sciir_dist.curate.run import CurateConfig

    point, counted, nth, stages, retry = KILL_WINDOWS[window]
    wh = warehouse_copy
    _add_broken_panel(wh)
    if window == "between-rejects-and-output":
        run_curate(wh, ["hash"], progress=False, engine="local")  # everything hashed, the broken panel rejected
        _fix_broken_panel(wh)
        wh.upsert("panel_hashes", _hashed_by_an_older_release(wh.read("panel_hashes").slice(0, 2)))  # redone by key
    if window == "later-stage":  # half the articles' subjects are not in the table: they go to the text model
        from schemas.tables import ARTICLES

        unmapped = [r | {"subjects": [f"uncharted topic {i}"]} for i, r in enumerate(wh.read("articles").to_pylist()[::2])]
        wh.upsert("articles", pa.Table.from_pylist(unmapped, schema=ARTICLES))
    clean = Warehouse(str(tmp_path / "clean"))
    shutil.copytree(wh.root, clean.root)
    running_before = wh.read("runs", ["status"]).column("status").to_pylist().count("running")
    names = stages.split(",")

    with FakeOpenAI(FakeConfig(faults=[Fault("server_error", rate=0.4, attempts=None)])) as server:
        args = ["curate", "--data", wh.root, "--stages", stages, "--engine", "local", "--commit-every", "4",
                "--batch-size", "4", "--no-progress", "--text-url", server.url, "--text-model", "fake-text",
                "--vlm-retries", "0", *(["--retry-rejects"] if retry else [])]
        killed_cli(point, counted, nth, *args)
        if window == "mid-batch":
            assert wh.count("panel_hashes") == 0  # killed before the first commit
        elif window == "later-stage":
            assert wh.count("panel_hashes") == wh.count("panels") - 1
            assert 0 < wh.count("article_discipline") < wh.count("articles")
        cfg = CurateConfig(text=EndpointSettings(url=server.url, model="fake-text", max_retries=0))
        run_curate(wh, names, cfg=cfg, progress=False, retry_rejects=retry, engine="local")
        run_curate(clean, names, cfg=cfg, progress=False, retry_rejects=retry, engine="local")

    outputs = {"hash": ("panel_hashes", "panel_id"), "discipline": ("article_discipline", "article_id")}
    tables = [*(outputs[n] for n in names), ("rejects", "reject_id")]
    assert _snapshot(wh, [t for t, _ in tables]) == _snapshot(clean, [t for t, _ in tables])
    assert all(_unique(wh, t, key) for t, key in tables)
    assert wh.count("rejects", "stage = 'hash'") == (0 if retry else 1)  # retried and mended, or unreadable
    if window == "later-stage":
        assert wh.count("rejects", "stage = 'discipline'") > 0  # the text model's failures
    statuses = wh.read("runs", ["status"]).column("status").to_pylist()
    assert statuses.count("running") == running_before + 1  # the killed run's row stays visible
    assert statuses.count("failed") == 0


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
