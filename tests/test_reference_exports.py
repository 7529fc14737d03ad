"""`sciir export --format diffsynth / instruction-jsonl`: the training split
in the formats the SciIR reference's trainers read — a DiffSynth-Studio
image dataset (its UnifiedDataset: ``pandas.read_csv`` or ``json.load`` of
the metadata, ``image`` joined to the dataset base path, ``prompt``) and
Alpaca ``instruction``/``input``/``output`` JSONL (LLaMA-Factory, ms-swift,
the reference planner SFT script)."""

from __future__ import annotations

import json
import os

import pandas as pd
from PIL import Image
from typer.testing import CliRunner

from sciir_dist.cli import app
from sciir_dist.train.split import training_split

runner = CliRunner()


def test_reference_trainer_formats(curated_copy, tmp_path):
    wh = curated_copy
    split = training_split(wh).set_index("panel_id")
    split = split[split["sci_rcot"].notna() & split["abstract_prompt"].notna()]
    out = tmp_path / "sft"
    (out / "diffsynth" / "images").mkdir(parents=True)
    (out / "diffsynth" / "images" / "stale.png").write_bytes(b"left by an earlier export")
    res = runner.invoke(app, ["export", "--data", wh.root, "--out", str(out), "--format", "diffsynth",
                              "--format", "instruction-jsonl", "--shard-size", "7"])
    assert res.exit_code == 0, res.output
    assert not (out / "planner").exists() and not (out / "generator").exists()  # only what was asked for

    base = out / "diffsynth"
    train = pd.read_csv(base / "metadata.csv")  # as UnifiedDataset reads a CSV
    held = pd.read_csv(base / "heldout.csv")
    assert list(train.columns[:2]) == ["image", "prompt"]
    assert set(train["panel_id"]) == set(split.index[~split["heldout"]])
    assert set(held["panel_id"]) == set(split.index[split["heldout"]])
    for row in [train.iloc[i].to_dict() for i in range(len(train))]:
        path = os.path.join(str(base), row["image"])  # ToAbsolutePath(base_path)
        with Image.open(path) as im:
            assert im.size == (1024, 1024)
        assert row["prompt"] == split.loc[row["panel_id"], "sci_rcot"]
        assert row["license"] == "CC-BY-4.0" and row["attribution"]
    as_json = json.loads((base / "metadata.json").read_text(encoding="utf-8"))
    assert [(r["image"], r["prompt"]) for r in as_json] == list(zip(train["image"], train["prompt"]))
    assert not (base / "images" / "stale.png").exists()
    assert len(list((base / "images").glob("*.png"))) == len(split)

    lines = [json.loads(x) for x in (out / "instruction" / "planner-train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["panel_id"] for r in lines} == set(split.index[~split["heldout"]])
    for r in lines:
        assert r["instruction"] and r["input"] == split.loc[r["panel_id"], "abstract_prompt"]
        assert r["output"] == split.loc[r["panel_id"], "sci_rcot"] and r["license"] == "CC-BY-4.0"
    info = json.loads((out / "instruction" / "dataset_info.json").read_text())
    assert info["sciir_planner_train"] == {"file_name": "planner-train.jsonl",
                                           "columns": {"prompt": "instruction", "query": "input", "response": "output"}}
    res = runner.invoke(app, ["export", "--data", wh.root, "--out", str(out), "--format", "csv"])
    assert res.exit_code != 0 and "unknown export format" in res.output
