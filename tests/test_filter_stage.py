"""The `filter` stage: offline heuristics (bundled OCR + image statistics)
and the VLM path through Ray against the fake OpenAI-compatible server, with
faults turned into `vlm_error:<kind>` rejects and completed on retry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.compute as pc

from sciir_dist.backends.fake_openai import FakeConfig, FakeOpenAI, Fault, request_key
from sciir_dist.backends.openai import EndpointSettings
from sciir_dist.curate.run import CurateConfig, run_curate
from sciir_dist.prompts import filter as prompt
from sciir_dist.stages.filter import FilterStage
from sciir_dist.stages.vlm import data_url


def _panel_rows(wh, ids: list[str]) -> pa.Table:
    rows = wh.read("panels", ["panel_id", "sub_caption", "fill_color"], where="panel_id IN (" + ", ".join(f"'{i}'" for i in ids) + ")")
    images = [wh.read_blob("panels", "image", f"panel_id = '{pid}'")[0] for pid in rows["panel_id"].to_pylist()]
    return rows.append_column("image", pa.array(images, pa.large_binary()))


def test_offline_filter_rejects_charts_photos_and_text(spark_warehouse, manifest):
    wh, _ = spark_warehouse
    pick: dict[str, str] = {}
    for f in manifest["figures"]:
        if f["expected"] == "ingest" and f["content"] not in pick:
            pick[f["content"]] = f["figure_id"] + ".p0"
    assert set(pick) == {"schematic", "chart", "photo", "text"}, pick
    stage = FilterStage()
    stage.setup()
    out = {r["panel_id"]: r for r in stage.process(_panel_rows(wh, list(pick.values()))).rows.to_pylist()}
    expect = {"schematic": ("KEEP", "schematic"), "chart": ("REJECT", "data_plot"),
              "photo": ("REJECT", "micrograph_or_tissue"), "text": ("REJECT", "text_legend_or_icon")}
    for content, pid in pick.items():
        r = out[pid]
        assert (r["filter_decision"], r["filter_category"]) == expect[content], (content, r)
        assert r["filter_backend"] == "offline" and r["filter_reason"] and r["filter_prompt_version"]


def _vision(url: str, **kw) -> CurateConfig:
    return CurateConfig(vision=EndpointSettings(url=url, model="fake-vlm", max_retries=1, backoff_base_s=0.01,
                                                timeout_s=2.0, max_reasks=1, **kw))


def test_vlm_faults_become_rejects_and_retry_completes_them(warehouse_copy, ray_local):
    wh = warehouse_copy
    n = wh.count("panels")
    faults = [Fault("server_error", rate=0.25, attempts=None), Fault("schema_invalid", rate=0.5, attempts=None)]
    with FakeOpenAI(FakeConfig(faults=faults)) as bad:
        s = run_curate(wh, ["filter"], cfg=_vision(bad.url), progress=False, batch_size=16)
    failed = wh.read("rejects", where="stage = 'filter'").to_pylist()
    reasons = {r["reason"] for r in failed}
    assert reasons == {"vlm_error:server_error", "vlm_error:schema_invalid"}, reasons
    assert wh.count("panel_filter") + len(failed) == n and 0 < len(failed) < n
    assert sum(s.rejected.values()) == len(failed)
    out = wh.read("panel_filter").to_pylist()
    assert all(r["filter_backend"] == "openai" and r["filter_model"] == "fake-vlm"
               and r["filter_prompt_version"] == prompt.VERSION for r in out)
    with FakeOpenAI() as healthy:
        again = run_curate(wh, ["filter"], cfg=_vision(healthy.url), progress=False)
        assert again.rows_in == 0 and not healthy.log  # rejects wait for --retry-rejects
        retry = run_curate(wh, ["filter"], cfg=_vision(healthy.url), progress=False, retry_rejects=True)
        assert retry.rows_in == len(failed) and len(healthy.log) == len(failed)
    assert wh.count("panel_filter") == n and wh.read("rejects", where="stage = 'filter'").num_rows == 0
    keys = wh.read("panel_filter", ["panel_id"]).column("panel_id")
    assert pc.count_distinct(keys).as_py() == n


def test_killed_curate_does_not_ask_again_for_finished_panels(warehouse_copy, ray_local):
    wh = warehouse_copy
    with FakeOpenAI(FakeConfig(latency_s=0.05, capacity=4)) as server:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sciir_dist.cli", "curate", "--data", wh.root, "--stages", "filter", "--vlm-url", server.url,
             "--vlm-model", "fake-vlm", "--batch-size", "4", "--commit-every", "4", "--no-progress"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None and wh.count("panel_filter") == 0:
            time.sleep(0.01)
        assert proc.poll() is None
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        killed_at = time.time()
        finished = wh.read("panel_filter", ["panel_id"]).column("panel_id").to_pylist()
        assert 0 < len(finished) < wh.count("panels")
        run_curate(wh, ["filter"], cfg=_vision(server.url), progress=False)
        rows = _panel_rows(wh, finished).to_pylist()
        finished_keys = {request_key({"model": "fake-vlm", "messages": prompt.messages(data_url(r["image"]), r["sub_caption"])})
                         for r in rows}
        asked_after = {e["key"] for e in server.log if e["t"] > killed_at}
        assert not finished_keys & asked_after  # finished rows were not requested again
    assert wh.count("panel_filter") == wh.count("panels")
    keys = wh.read("panel_filter", ["panel_id"]).column("panel_id")
    assert pc.count_distinct(keys).as_py() == len(keys)
