"""SciIR-Bench files in the reference's own formats (MAIR-Lab-HUST/SciIR
``checklist.py``, ``evaluation.py``), on real local Ray and Lance:

- checklist entries whose model failed (``{"error", "raw"}`` / ``null``)
  become ``checklist_invalid`` rejects at `bench load` and `bench
  import-checklist`;
- flat per-run image folders (``IMAGE_FOLDER/001.png``) import into
  generations of their own mode x group only;
- ``evaluation_results.json`` verdicts align by order within category, and
  mismatches or error entries become rejects, never shifted answers;
- `bench export` writes the published layout: the release round-trips.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sciir_dist.bench.import_verdicts import VerdictImport, align, import_verdicts
from sciir_dist.bench.load import find_release, load_release
from sciir_dist.bench.score import ScoreOptions, score
from sciir_dist.cli import app
from sciir_dist.warehouse import Warehouse
from tests.test_hostile_inputs import figure_png

runner = CliRunner()
#: one sample's checklist, categories interleaved as the reference's model writes them
CHECKLIST = [("Is the label 'ATP' spelled correctly?", "Text"), ("Is the pump drawn as a barrel?", "EntityStructure"),
             ("Is the label 'ADP' spelled correctly?", "Text"), ("Does an arrow lead from ATP to ADP?", "ScientificProcess"),
             ("Is the membrane a double line?", "EntityStructure"), ("Are there no orphan arrows?", "ScientificProcess"),
             ("Is energy conserved across the cycle?", "ScientificLaw")]
REASONING = {"EntityStructure": {"terms": ["pump", "membrane"], "visualization": ["a barrel", "a double line"]},
             "ScientificProcess": {"terms": ["hydrolysis"], "visualization": ["an arrow"]},
             "ScientificLaw": {"terms": ["conservation"], "visualization": ["balanced"]}}


def caption(name: str) -> dict:
    return {"image_filename": name, "labels": ["EntityStructure", "ScientificLaw", "ScientificProcess"],
            "reasoning": REASONING, "retained_text": ["ATP"], "sci-RCoT": f"A schematic of a pump ({name}) labeled as \"ATP\".",
            "science_abstract_prompt": f"An ATP pump ({name})."}


def checklist(name: str, mode: str, generated) -> dict:
    return {"image_path": name, "used_prompt_mode": mode, "core_tracks": ["ScientificLaw", "EntityStructure", "ScientificProcess"],
            "generated_checklist": generated}


GOOD = {"checklist": [{"question": q, "category": c} for q, c in CHECKLIST]}
FAILED = {"error": "Invalid JSON returned", "raw": "```json\n{\"checklist\": [{\"question\": \"Is the"}


def write_release(root: Path, if_checklists: list, ir_names=("001.png", "002.png")) -> Path:
    """A small release in the published layout: IF/All_Three with one entry
    per ``if_checklists`` item (001.png, 002.png, ...), IR/All_Three with
    good checklists."""
    for mode_dir, mode, entries in (("instruction_following", "cot", if_checklists),
                                    ("intrinsic_reasoning", "abstract", [GOOD] * len(ir_names))):
        folder = root / mode_dir / "All_Three"
        folder.mkdir(parents=True, exist_ok=True)
        names = [f"{i + 1:03d}.png" for i in range(len(entries))] if mode == "cot" else list(ir_names)
        (folder / "caption.json").write_text(json.dumps([caption(n) for n in names], indent=2), encoding="utf-8")
        (folder / "checklist.json").write_text(json.dumps([checklist(n, mode, g) for n, g in zip(names, entries)], indent=2),
                                               encoding="utf-8")
    return root


def test_checklist_error_entries_become_rejects(tmp_path):
    release = write_release(tmp_path / "rel", [GOOD, FAILED, None, {"checklist": [{"question": "Q?", "category": "Style"}]}])
    wh = Warehouse(str(tmp_path / "wh"))
    assert load_release(wh, release) == {"samples": 6, "questions": 3 * len(CHECKLIST), "checklist_invalid": 3}
    rej = {r["item"]: r for r in wh.read("rejects", where="reason = 'checklist_invalid'").to_pylist()}
    assert set(rej) == {f"instruction_following/All_Three/{n}" for n in ("002.png", "003.png", "004.png")}
    assert "Invalid JSON returned" in rej["instruction_following/All_Three/002.png"]["detail"]
    assert "raw: " in rej["instruction_following/All_Three/002.png"]["detail"]
    assert "null" in rej["instruction_following/All_Three/003.png"]["detail"]
    assert "'Style'" in rej["instruction_following/All_Three/004.png"]["detail"]
    assert {r["stage"] for r in rej.values()} == {"checklist"}  # `bench checklist --retry-rejects` may redo them
    assert wh.count("bench_samples") == 6 and wh.count("bench_questions", "sample_id LIKE '%/002.png'") == 1 * len(CHECKLIST)

    # the reference's raw checklist.py output for the IF run (one more failure) replaces that run's checklists
    raw = [checklist("001.png", "cot", FAILED), checklist("002.png", "cot", GOOD), checklist("003.png", "cot", GOOD),
           checklist("004.png", "cot", GOOD), checklist("009.png", "cot", GOOD)]
    (tmp_path / "raw.json").write_text(json.dumps(raw, indent=2))
    res = runner.invoke(app, ["bench", "import-checklist", str(tmp_path / "raw.json"), "--data", wh.root,
                              "--mode", "cot", "--group", "All_Three"])
    assert res.exit_code == 0, res.output
    rej = {r["item"]: r["detail"] for r in wh.read("rejects", where="reason = 'checklist_invalid'").to_pylist()}
    assert set(rej) == {"instruction_following/All_Three/001.png", "instruction_following/All_Three/009.png"}
    assert "no sample" in rej["instruction_following/All_Three/009.png"]
    q = wh.read("bench_questions").to_pandas()
    assert set(q["sample_id"]) == {f"instruction_following/All_Three/{n}" for n in ("002.png", "003.png", "004.png")} | \
        {"intrinsic_reasoning/All_Three/001.png", "intrinsic_reasoning/All_Three/002.png"}
    assert (q.groupby("sample_id").size() == len(CHECKLIST)).all()


def test_align_by_order_within_category():
    qs = [{"question_id": f"s#{i}", "idx": i, "category": c} for i, (_, c) in enumerate(CHECKLIST)]
    # the judge lists answers grouped differently from the checklist's interleaving
    answers = [{"category": "EntityStructure", "answer": "Yes", "reason": "es0"},
               {"category": "Text", "answer": "No", "reason": "t0"},
               {"category": "ScientificProcess", "answer": "yes.", "reason": "sp0"},
               {"category": "Text", "answer": "Yes", "reason": "t1"},
               {"category": "EntityStructure", "answer": "No", "reason": "es1"},
               {"category": "ScientificProcess", "answer": "No", "reason": "sp1"},
               {"category": "ScientificLaw", "answer": "Maybe", "reason": "?"},
               {"category": "Style", "answer": "Yes", "reason": "style"}]
    pairs, problems = align(qs, answers)
    assert {q["question_id"]: (a, r) for q, a, r in pairs} == {
        "s#0": ("no", "t0"), "s#2": ("yes", "t1"), "s#1": ("yes", "es0"), "s#4": ("no", "es1"),
        "s#3": ("yes", "sp0"), "s#5": ("no", "sp1")}
    assert [(c, r) for c, r, _ in problems] == [("ScientificLaw", "verdicts_invalid"), ("Style", "verdicts_misaligned")]


def _answers(yes: dict[str, list[str]]) -> list[dict]:
    return [{"category": c, "answer": a, "reason": f"{c} {k}"} for c, ans in yes.items() for k, a in enumerate(ans)]


ALL_YES = {"Text": ["Yes", "Yes"], "EntityStructure": ["Yes", "Yes"], "ScientificProcess": ["Yes", "Yes"], "ScientificLaw": ["Yes"]}


def test_flat_folders_and_reference_verdicts_score(tmp_path, ray_local):
    release = write_release(tmp_path / "rel", [GOOD, GOOD, GOOD])
    wh = Warehouse(str(tmp_path / "wh"))
    load_release(wh, release)
    # the reference's runs: one flat folder per mode x group, same file names in both
    runs = tmp_path / "runs"
    for i, name in enumerate(("001.png", "002.png", "003.png")):
        (runs / "Cot_All_Three").mkdir(parents=True, exist_ok=True)
        (runs / "Cot_All_Three" / name).write_bytes(figure_png(100 + i))
    (runs / "Prompt_All_Three").mkdir()
    (runs / "Prompt_All_Three" / "001.png").write_bytes(figure_png(200))  # 002.png was never generated
    res = runner.invoke(app, ["bench", "import-images", str(runs / "Cot_All_Three"), "--data", wh.root, "--model", "qwen-image",
                              "--layout", "flat", "--mode", "IF", "--group", "All_Three", "--no-progress"])
    assert res.exit_code == 0, res.output
    g = wh.read("generations").to_pandas()
    assert sorted(g["sample_id"]) == [f"instruction_following/All_Three/{n}" for n in ("001.png", "002.png", "003.png")]
    (runs / "map.csv").write_text("folder,mode,group\nPrompt_All_Three,abstract,All_Three\n")
    res = runner.invoke(app, ["bench", "import-images", str(runs), "--data", wh.root, "--model", "qwen-image",
                              "--layout", "flat", "--mapping", str(runs / "map.csv"), "--no-progress"])
    assert res.exit_code == 0, res.output
    g = wh.read("generations").to_pandas().set_index("sample_id")
    import hashlib

    assert g.loc["instruction_following/All_Three/001.png", "sha256"] == hashlib.sha256(figure_png(100)).hexdigest()
    assert g.loc["intrinsic_reasoning/All_Three/001.png", "sha256"] == hashlib.sha256(figure_png(200)).hexdigest()
    assert g.loc["intrinsic_reasoning/All_Three/002.png", "error"].startswith("missing_image:")

    # evaluation.py's output for the IF run
    misaligned = {**ALL_YES, "EntityStructure": ["Yes"], "ScientificProcess": ["Yes", "No"]}
    results = [{"image_filename": "001.png", "mode": "cot", "evaluation": {"evaluation_results": _answers(ALL_YES)}},
               {"image_filename": "002.png", "mode": "cot", "evaluation": {"evaluation_results": _answers(misaligned)}},
               {"image_filename": "003.png", "mode": "cot", "evaluation": {"error": "Max retries reached. Error: 429"}},
               {"image_filename": "004.png", "error": "Image file not found"}]
    path = tmp_path / "evaluation_results.json"
    path.write_text(json.dumps(results, indent=2))
    res = runner.invoke(app, ["bench", "import-verdicts", str(path), "--data", wh.root, "--model", "qwen-image",
                              "--group", "All_Three"])
    assert res.exit_code == 0, res.output
    v = wh.read("verdicts").to_pandas()
    assert set(v["judge"]) == {"vlm:gemini-3-pro-preview"} and set(v["prompt_version"]) == {"reference-evaluation"}
    got = dict(zip(v["question_id"], v["answer"]))
    s1, s2 = "instruction_following/All_Three/001.png", "instruction_following/All_Three/002.png"
    assert {k for k in got if k.startswith(s1)} == {f"{s1}#{i}" for i in range(len(CHECKLIST))}
    # 002: EntityStructure (1 answer for 2 questions) is not imported; the second SP question (idx 5) got the No
    assert {k: a for k, a in got.items() if k.startswith(s2)} == {f"{s2}#0": "yes", f"{s2}#2": "yes", f"{s2}#3": "yes",
                                                                 f"{s2}#5": "no", f"{s2}#6": "yes"}
    rej = {r["item"]: r for r in wh.read("rejects", where="stage = 'bench-import-verdicts'").to_pylist()}
    assert {k: r["reason"] for k, r in rej.items()} == {
        f"qwen-image|{s2}|0#EntityStructure": "verdicts_misaligned",
        "qwen-image|instruction_following/All_Three/003.png|0": "verdicts_error",
        "qwen-image|instruction_following/All_Three/004.png|0": "verdicts_unknown_sample"}
    assert "2 question(s)" in rej[f"qwen-image|{s2}|0#EntityStructure"]["detail"]
    assert "429" in rej["qwen-image|instruction_following/All_Three/003.png|0"]["detail"]

    table, meta = score(wh, ScoreOptions(judge="vlm:gemini-3-pro-preview", bootstrap=10))
    acc = table[table["split"] == "IF"].set_index("category")["accuracy"]
    # IF: 001 passes all; 002 passes Text and SL only (ES unjudged, SP has a No); 003 has no verdicts
    assert acc["Text"] == pytest.approx(2 / 3) and acc["SL"] == pytest.approx(2 / 3)
    assert acc["ES"] == pytest.approx(1 / 3) and acc["SP"] == pytest.approx(1 / 3)

    # a corrected file replaces the run's verdicts and clears its rejects
    results[1]["evaluation"]["evaluation_results"] = _answers(ALL_YES)
    results[2] = {"image_filename": "003.png", "mode": "cot", "evaluation": {"evaluation_results": _answers(ALL_YES)}}
    path.write_text(json.dumps(results[:3]))
    s = import_verdicts(wh, VerdictImport(str(path), model="qwen-image", group="All_Three", mode="IF"))
    assert s.rows_out == {"verdicts": 3 * len(CHECKLIST)} and s.rejected == {}
    assert wh.count("verdicts") == 3 * len(CHECKLIST)
    assert set(wh.read("rejects", ["item"], where="stage = 'bench-import-verdicts'").column("item").to_pylist()) == \
        {"qwen-image|instruction_following/All_Three/004.png|0"}  # not in this file: kept
    # entries of the other mode are refused when --mode says IF
    path.write_text(json.dumps([{"image_filename": "001.png", "mode": "abstract",
                                 "evaluation": {"evaluation_results": _answers(ALL_YES)}}]))
    s = import_verdicts(wh, VerdictImport(str(path), model="qwen-image", group="All_Three", mode="IF"))
    assert s.rejected == {"verdicts_invalid": 1} and s.rows_out == {"verdicts": 0}


def test_bench_export_round_trips_the_published_release(tmp_path):
    release = find_release()
    wh = Warehouse(str(tmp_path / "wh"))
    load_release(wh, release)
    out = tmp_path / "export"
    res = runner.invoke(app, ["bench", "export", str(out), "--data", wh.root])
    assert res.exit_code == 0, res.output
    for folder in sorted(p.parent for p in release.glob("*/*/caption.json")):
        rel = folder.relative_to(release)
        for name in ("caption.json", "checklist.json"):
            mine = json.loads((out / rel / name).read_text(encoding="utf-8"))
            theirs = json.loads((folder / name).read_text(encoding="utf-8"))
            for e in theirs:  # the one sample spelled differently in the release is written with the usual keys
                if "sci_RCoT" in e:
                    e["sci-RCoT"], e["science_abstract_prompt"] = e.pop("sci_RCoT"), e.pop("abstract_prompt")
            assert mine == theirs, f"{rel}/{name} differs"
    wh2 = Warehouse(str(tmp_path / "wh2"))
    assert load_release(wh2, out) == {"samples": 800, "questions": 12962, "checklist_invalid": 0}
    for table, key in (("bench_samples", "sample_id"), ("bench_questions", "question_id")):
        a = wh.read(table).to_pandas().sort_values(key).reset_index(drop=True)
        b = wh2.read(table).to_pandas().sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)
