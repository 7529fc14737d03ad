"""SciIR-Bench on real local Ray and Lance: the build protocol, checklists,
sweeps (text-render, folder, OpenAI-compatible endpoint via the fake
server), judging (OCR and VLM), failures as recorded rows, kill + re-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pytest

from schemas.tables import TRACKS
from sciir_dist.backends.fake_openai import FakeConfig, FakeOpenAI, Fault, image_request_key, request_key
from sciir_dist.backends.openai import EndpointSettings, with_image_detail
from sciir_dist.bench.build import build, select
from sciir_dist.bench.checklist import check_checklist, run_checklist
from sciir_dist.bench.correlate import correlate
from sciir_dist.bench.judge import JudgeSpec, run_judge
from sciir_dist.bench.load import find_release, load_release
from sciir_dist.bench.models_file import ModelSpec, load_models
from sciir_dist.bench.score import ScoreOptions, score
from sciir_dist.bench.sweep import run_sweep
from sciir_dist.prompts import judge as judge_prompt
from sciir_dist.stages.vlm import data_url
from sciir_dist.warehouse import Warehouse

RELEASE = find_release()
TEXT_RENDER = ModelSpec(name="text-render", backend="text-render", seeds=[0])


def _track(n: int) -> dict:
    return {"terms": [f"t{i}" for i in range(n)], "visualization": [f"v{i}" for i in range(n)]}


def test_build_protocol_on_hand_checkable_panels():
    rows = []

    def add(pid, es, sp, sl, rendered=2, retained=2):
        reasoning = {"EntityStructure": _track(es) if es else None, "ScientificProcess": _track(sp) if sp else None,
                     "ScientificLaw": _track(sl) if sl else None}
        rows.append({"panel_id": pid, "reasoning": reasoning, "term_count": es + sp + sl,
                     "rendered_text": ["x"] * rendered, "retained_text": ["x"] * retained})

    # ES+SP group, term counts 4 5 5 6 6 7 20: Q1 = 5, Q3 = 6.5 -> keep [4, 7.5]: p7 (20) goes
    for pid, (es, sp) in zip(["p1", "p2", "p3", "p4", "p5", "p6", "p7"], [(2, 2), (3, 2), (2, 3), (3, 3), (4, 2), (4, 3), (10, 10)]):
        add(pid, es, sp, 0)
    add("p8", 2, 1, 0)  # term_count 3: not > 3
    add("p9", 6, 0, 0)  # one track only: no group
    add("p10", 3, 2, 0, rendered=30)  # term_count 5 but an outlier in rendered_text count
    add("q1", 2, 1, 2)  # All_Three, alone in its group
    chosen, short = select(pd.DataFrame(rows), per_split=100, seed=0)
    chosen = chosen.set_index("panel_id")
    assert set(chosen.index) == {"p1", "p2", "p3", "p4", "p5", "p6", "q1"}
    assert set(chosen.loc[["p1", "p2", "p3", "p4", "p5", "p6"], "group"]) == {"EntityStructure_ScientificProcess"}
    # median term_count of p1..p6 (4 5 5 6 6 7) is 5.5: below -> IR, at or above -> IF
    assert chosen["mode"].to_dict() == {"p1": "IR", "p2": "IR", "p3": "IR", "p4": "IF", "p5": "IF", "p6": "IF", "q1": "IF"}
    assert short == {"IF/EntityStructure_ScientificProcess": 3, "IR/EntityStructure_ScientificProcess": 3,
                     "IF/All_Three": 1, "IR/All_Three": 0}
    two, short = select(pd.DataFrame(rows), per_split=2, seed=1)
    assert two.groupby(["group", "mode"]).size().to_dict() == {
        ("All_Three", "IF"): 1, ("EntityStructure_ScientificProcess", "IF"): 2,
        ("EntityStructure_ScientificProcess", "IR"): 2}
    assert short == {"IF/All_Three": 1, "IR/All_Three": 0}
    assert two["panel_id"].tolist() == select(pd.DataFrame(rows), per_split=2, seed=1)[0]["panel_id"].tolist()


def test_build_draws_exactly_n_if_and_n_ir_per_group():
    rng = np.random.default_rng(0)
    rows = []
    for group, tracks, n in (("All_Three", ("EntityStructure", "ScientificProcess", "ScientificLaw"), 700),
                             ("EntityStructure_ScientificLaw", ("EntityStructure", "ScientificLaw"), 500),
                             ("ScientificLaw_ScientificProcess", ("ScientificLaw", "ScientificProcess"), 120)):
        for i in range(n):
            sizes = rng.integers(2, 6, size=len(tracks))
            reasoning = {t: None for t in TRACKS} | {t: _track(int(k)) for t, k in zip(tracks, sizes)}
            rows.append({"panel_id": f"{group}-{i:04d}", "reasoning": reasoning, "term_count": int(sizes.sum()),
                         "rendered_text": ["x"] * int(rng.integers(1, 4)), "retained_text": ["x"] * int(rng.integers(1, 4))})
    chosen, short = select(pd.DataFrame(rows), per_split=100, seed=7)
    sizes = chosen.groupby(["group", "mode"]).size().to_dict()
    for group in ("All_Three", "EntityStructure_ScientificLaw"):
        assert sizes[(group, "IF")] == 100 and sizes[(group, "IR")] == 100, group
    # 120 items cannot give 100 + 100: reported, never padded
    small = {k: v for k, v in short.items() if k.endswith("ScientificLaw_ScientificProcess")}
    assert small and all(v < 100 for v in small.values())
    assert sizes[("ScientificLaw_ScientificProcess", "IF")] == short.get("IF/ScientificLaw_ScientificProcess", 100)
    again, _ = select(pd.DataFrame(rows), per_split=100, seed=7)
    assert again["panel_id"].tolist() == chosen["panel_id"].tolist()
    other, _ = select(pd.DataFrame(rows), per_split=100, seed=8)
    assert other["panel_id"].tolist() != chosen["panel_id"].tolist()


def test_offline_bench_from_curated_panels(curated_copy, ray_local):
    wh = curated_copy
    res = build(wh, seed=0)
    samples = wh.read("bench_samples").to_pandas()
    assert res["selected"] == len(samples) > 0 and samples["sample_id"].is_unique
    reps = set(wh.read("panel_dedup", ["panel_id"], where="dup_of IS NULL")["panel_id"].to_pylist())
    assert set(samples["source"]) <= reps and (samples["term_count"] > 3).all()
    version = wh.version("bench_samples")
    build(wh, seed=0)
    assert wh.read("bench_samples").to_pandas().sort_values("sample_id").reset_index(drop=True).equals(
        samples.sort_values("sample_id").reset_index(drop=True)) and wh.version("bench_samples") >= version

    run_checklist(wh, progress=False)
    qs = wh.read("bench_questions").to_pandas()
    assert set(qs["sample_id"]) == set(samples["sample_id"]) and qs["question_id"].is_unique
    for s in samples.to_dict("records"):
        mine = qs[qs["sample_id"] == s["sample_id"]]
        items = [{"question": q, "category": c, "negative": n} for q, c, n in zip(mine["question"], mine["category"], mine["negative"])]
        active = [t for t in ("EntityStructure", "ScientificProcess", "ScientificLaw") if t in s["group"] or s["group"] == "All_Three"]
        from sciir_dist.bench.generators import required_text

        texts = required_text(s["prompt"], list(s["rendered_text"]) + list(s["retained_text"]))
        assert check_checklist({"checklist": items}, active, texts) is None

    run_sweep(wh, [TEXT_RENDER], progress=False)
    assert wh.count("generations", "error IS NULL") == len(samples)
    run_judge(wh, JudgeSpec(), progress=False)
    assert wh.count("verdicts") == len(qs)
    results, meta = score(wh, ScoreOptions(bootstrap=100))
    avg = results[(results["split"] == "Avg")].set_index("category")
    assert meta["judge"] == "ocr" and avg.loc["Text", "coverage"] == 1.0 and avg.loc["Text", "accuracy"] > 0.5
    for c in ("SL", "ES", "SP"):
        assert pd.isna(avg.loc[c, "accuracy"]) and avg.loc[c, "coverage"] == 0.0  # the OCR judge abstains
    from sciir_dist.bench.report import markdown

    table = markdown(results, meta)
    assert table.splitlines()[2].endswith("| n/a |")  # Final
    assert "answered no SL, ES, SP question" in table and "abstains on every visual question" in table
    assert "sciir bench judge --data ROOT --vlm-url URL --vlm-model MODEL" in table

    # the leakage guard: a re-run of dedup marks the selected panels' clusters
    from sciir_dist.curate.run import run_curate

    run_curate(wh, ["dedup"], progress=False)
    leaked = set(wh.read("panel_dedup", ["panel_id"], where="bench_leak")["panel_id"].to_pylist())
    assert set(samples["source"]) <= leaked


def test_published_release_text_render_ocr_judge(tmp_path, ray_local):
    wh = Warehouse(str(tmp_path / "wh"))
    load_release(wh, RELEASE)
    subset = "image_filename IN ('001.png', '002.png', '003.png')"
    s = run_sweep(wh, [TEXT_RENDER], where=subset, progress=False)
    assert s.rows_in == 24 and wh.count("generations") == 24  # 3 per mode x group
    run_judge(wh, JudgeSpec(), progress=False)
    results, _ = score(wh, ScoreOptions(bootstrap=100))
    text = results[(results["split"] == "Avg") & (results["category"] == "Text")].iloc[0]
    assert pd.notna(text["accuracy"]) and text["coverage"] > 0.8
    # the 776 samples without a generation count as failures: Text accuracy is at most 24/800
    assert text["accuracy"] <= 24 / 800 + 1e-9
    verdicts = wh.read("verdicts").to_pandas()
    cats = wh.read("bench_questions", ["question_id", "category"]).to_pandas().set_index("question_id")["category"]
    assert set(verdicts.loc[verdicts["question_id"].map(cats) != "Text", "answer"]) == {"abstain"}

    from typer.testing import CliRunner

    from sciir_dist.cli import app

    out = tmp_path / "report"
    res = CliRunner().invoke(app, ["bench", "score", "--data", wh.root, "--by", "group", "--bootstrap", "50",
                                   "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["meta"]["judge"] == "ocr" and {r["group"] for r in payload["results"]} >= {"all", "All_Three"}
    for name in ("table.md", "scores.csv", "scores.json", "chart.png", "report.html"):
        assert (out / name).stat().st_size > 0
    assert "| text-render |" in (out / "table.md").read_text() and "<img" in (out / "report.html").read_text()


def _fake_models(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(f'[[models]]\nname = "fake-gen"\nbackend = "openai"\nseeds = [0]\nconcurrency = 2\nbatch_size = 25\n'
                    f'[models.options]\nurl = "{url}"\nmodel = "fake-image"\nmax_retries = 1\nbackoff_base_s = 0.01\n'
                    f'timeout_s = 5\n')
    return path


def _vision(url: str, **kw) -> EndpointSettings:
    return EndpointSettings(url=url, model="fake-vlm", max_retries=1, backoff_base_s=0.01, timeout_s=5.0, max_reasks=1, **kw)


def test_generation_failures_are_rows_and_retry_completes_them(tmp_path, ray_local):
    wh = Warehouse(str(tmp_path / "wh"))
    load_release(wh, RELEASE)
    where = "group = 'All_Three' AND mode = 'IF'"
    faults = [Fault("server_error", rate=0.3, attempts=None), Fault("empty", rate=0.15, attempts=None)]
    with FakeOpenAI(FakeConfig(faults=faults)) as bad:
        specs = load_models(_fake_models(tmp_path, bad.url))
        s = run_sweep(wh, specs, where=where, progress=False)
    gens = wh.read("generations").to_pandas()
    assert len(gens) == 100 and gens["generation_id"].is_unique
    failed = gens[gens["error"].notna()]
    assert 0 < len(failed) < 100 and s.rejected["sweep:fake-gen:errors"] == len(failed)
    assert failed["error"].str.contains("generation_error:server_error|bad_image").all()
    assert gens.loc[gens["error"].isna(), "sha256"].notna().all()
    with FakeOpenAI() as good:
        specs = load_models(_fake_models(tmp_path, good.url))
        again = run_sweep(wh, specs, where=where, progress=False)
        assert again.rows_in == 0 and not good.log  # errors wait for --retry-errors
        run_sweep(wh, specs, where=where, retry_errors=True, progress=False)
        assert len(good.log) == len(failed)
    gens = wh.read("generations").to_pandas()
    assert len(gens) == 100 and gens["error"].isna().all()


def test_folder_import_and_missing_images(tmp_path, ray_local):
    wh = Warehouse(str(tmp_path / "wh"))
    load_release(wh, RELEASE)
    root = tmp_path / "generated"
    img = root / "elsewhere" / "intrinsic_reasoning" / "All_Three" / "001.png"
    img.parent.mkdir(parents=True)
    from PIL import Image

    Image.new("RGB", (32, 32), "white").save(img)
    spec = ModelSpec(name="elsewhere", backend="folder", options={"root": str(root)})
    run_sweep(wh, [spec], where="group = 'All_Three' AND mode = 'IR' AND image_filename IN ('001.png', '002.png')",
              progress=False)
    rows = {r["sample_id"]: r for r in wh.read("generations").to_pylist()}
    assert rows["intrinsic_reasoning/All_Three/001.png"]["error"] is None
    assert rows["intrinsic_reasoning/All_Three/002.png"]["error"].startswith("missing_image:")


def test_diffusers_without_gpu_fails_clearly(tmp_path, ray_local):
    wh = Warehouse(str(tmp_path / "wh"))
    load_release(wh, RELEASE)
    with pytest.raises(ValueError, match="diffusers"):
        run_sweep(wh, [ModelSpec(name="sd", backend="diffusers", options={"pretrained": "x"})], progress=False)


def test_vlm_judge_invalid_answers_are_rejected_then_retried(tmp_path, ray_local):
    wh = Warehouse(str(tmp_path / "wh"))
    load_release(wh, RELEASE)
    where = "group = 'All_Three' AND image_filename IN ('001.png', '002.png')"
    run_sweep(wh, [TEXT_RENDER], where=where, progress=False)
    with FakeOpenAI(FakeConfig(faults=[Fault("schema_invalid", attempts=None)])) as bad:
        s = run_judge(wh, JudgeSpec(_vision(bad.url)), progress=False)
        assert len(bad.log) == 2 * 4  # one answer + one re-ask per generation
    assert s.rejected == {"judge:judge_invalid": 4} and wh.count("verdicts") == 0
    with FakeOpenAI() as good:
        run_judge(wh, JudgeSpec(_vision(good.url)), progress=False, retry_rejects=True)
    verdicts = wh.read("verdicts").to_pandas()
    gen_samples = set(wh.read("generations", ["sample_id"])["sample_id"].to_pylist())
    questions = wh.read("bench_questions").to_pandas()
    assert len(verdicts) == questions["sample_id"].isin(gen_samples).sum() and verdicts["verdict_id"].is_unique
    assert set(verdicts["answer"]) <= {"yes", "no"} and set(verdicts["judge"]) == {"vlm:fake-vlm"}
    assert wh.count("rejects", "stage = 'judge'") == 0


def test_llm_checklists_that_break_the_rules_are_rejected(curated_copy, ray_local):
    wh = curated_copy
    build(wh)
    n = wh.count("bench_samples")
    with FakeOpenAI() as server:  # schema-valid but random: no Text question quotes the required strings
        s = run_checklist(wh, _vision(server.url), progress=False)
        assert len(server.log) == 2 * n
    assert s.rejected == {"checklist:checklist_invalid": n} and wh.count("bench_questions") == 0


def test_correlate_with_human_ratings(curated_copy, ray_local, tmp_path):
    wh = curated_copy
    build(wh)
    run_checklist(wh, progress=False)
    run_sweep(wh, [TEXT_RENDER], progress=False)
    run_judge(wh, JudgeSpec(), progress=False)
    from sciir_dist.bench.correlate import sample_scores

    ratings = tmp_path / "human.csv"

    def rate_like_the_metric() -> pd.DataFrame:
        scores = sample_scores(wh, ScoreOptions())
        scores.assign(rating=scores["score"] * 4 + 1)[["sample_id", "rating"]].to_csv(ratings, index=False)
        return scores

    if rate_like_the_metric()["score"].nunique() == 1:  # the baseline scores every sample alike
        with pytest.raises(ValueError, match="constant"):
            correlate(wh, str(ratings), ScoreOptions())
    half = wh.read("generations", ["sample_id"])["sample_id"].to_pylist()[::2]
    wh.open("generations").delete("sample_id IN (" + ", ".join(f"'{x}'" for x in half) + ")")  # now they fail
    scores = rate_like_the_metric()
    res = correlate(wh, str(ratings), ScoreOptions(bootstrap=200))
    assert res["pairs"] == len(scores) and scores["score"].nunique() > 1 and res["per_sample"] == "passrate"
    assert res["pearson_r"] == pytest.approx(1.0) and res["spearman_rho"] == pytest.approx(1.0)
    assert res["kendall_tau"] == pytest.approx(1.0)
    assert res["pearson_r_ci_low"] == pytest.approx(1.0) and res["kendall_tau_ci_high"] == pytest.approx(1.0)


def test_per_sample_scores_passrate_and_veto_by_hand(generated_bench, tmp_path):
    """Pass rate = share of all the sample's questions answered yes (appendix
    G); veto = mean of its per-category all-yes values; both checked against
    planted verdicts, and the correlation follows the chosen one."""
    import pyarrow as pa

    from schemas.tables import VERDICTS
    from sciir_dist.bench.correlate import PerSample, sample_scores
    from sciir_dist.bench.judge import verdict_id

    wh = generated_bench
    gens = wh.read("generations", ["generation_id", "sample_id"]).to_pandas()
    qs = wh.read("bench_questions", ["question_id", "sample_id", "idx", "category"]).to_pandas()
    items = gens.merge(qs, on="sample_id").sort_values(["sample_id", "idx"])
    # sample k: its first k questions are no, the rest yes
    order = {s: k for k, s in enumerate(sorted(items["sample_id"].unique()))}
    items["answer"] = ["no" if i < order[s] else "yes" for s, i in zip(items["sample_id"], items.groupby("sample_id").cumcount())]
    rows = [{"verdict_id": verdict_id(g, q, "vlm:h", "judge-v2:sciir"), "generation_id": g, "question_id": q,
             "judge": "vlm:h", "prompt_version": "judge-v2:sciir", "answer": a, "reason": "planted"}
            for g, q, a in zip(items["generation_id"], items["question_id"], items["answer"])]
    wh.upsert("verdicts", pa.Table.from_pylist(rows, schema=VERDICTS))
    expected_rate = items.groupby("sample_id")["answer"].apply(lambda a: (a == "yes").mean())
    per_cat = items.groupby(["sample_id", "category"])["answer"].apply(lambda a: (a == "yes").all())
    expected_veto = per_cat.groupby("sample_id").mean()
    rate = sample_scores(wh, ScoreOptions()).set_index("sample_id")["score"]
    veto = sample_scores(wh, ScoreOptions(), PerSample.veto).set_index("sample_id")["score"]
    assert rate.to_dict() == pytest.approx(expected_rate.to_dict())
    assert veto.to_dict() == pytest.approx(expected_veto.to_dict())
    assert rate.to_dict() != pytest.approx(veto.to_dict())

    ratings = tmp_path / "human.csv"
    expected_rate.rename("rating").reset_index().to_csv(ratings, index=False)
    assert correlate(wh, str(ratings), ScoreOptions(bootstrap=0))["pearson_r"] == pytest.approx(1.0)
    by_veto = correlate(wh, str(ratings), ScoreOptions(bootstrap=0), how=PerSample.veto)
    assert by_veto["per_sample"] == "veto" and "pearson_r_ci_low" not in by_veto


def test_killed_sweep_and_judge_rerun_without_duplicates_or_repeats(tmp_path, ray_local):
    wh = Warehouse(str(tmp_path / "wh"))
    load_release(wh, RELEASE)
    with FakeOpenAI(FakeConfig(latency_s=0.02, capacity=16)) as server:
        models = _fake_models(tmp_path, server.url)
        cli = [sys.executable, "-m", "sciir_dist.cli", "bench"]
        common = ["--data", wh.root, "--no-progress"]
        script = (f"{' '.join(cli)} sweep {' '.join(common)} --models {models} --commit-every 50 && "
                  f"{' '.join(cli)} judge {' '.join(common)} --vlm-url {server.url} --vlm-model fake-vlm")
        proc = subprocess.Popen(["bash", "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None and wh.count("verdicts") == 0:
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        killed_at = time.time()
        gens_done = wh.read("generations", ["generation_id", "sample_id"], where="error IS NULL").to_pandas()
        judged = set(wh.read("verdicts", ["generation_id"])["generation_id"].to_pylist())
        assert len(gens_done) == 800 and 0 < len(judged) < 800

        specs = load_models(models)
        run_sweep(wh, specs, progress=False)
        run_judge(wh, JudgeSpec(EndpointSettings(url=server.url, model="fake-vlm")), progress=False)
        after = [e for e in server.log if e["t"] > killed_at]
        log = list(server.log)

    samples = wh.read("bench_samples", ["sample_id", "prompt"]).to_pandas().set_index("sample_id")["prompt"]
    assert not any(e["key"] in {image_request_key({"model": "fake-image", "prompt": samples[s], "size": "1024x1024",
                                                   "seed": 0}) for s in gens_done["sample_id"]} for e in after)
    questions = wh.read("bench_questions").to_pandas().sort_values("idx").groupby("sample_id")[["question", "category"]].apply(
        lambda d: d.to_dict("records"))
    finished_keys = set()
    for g in wh.read("generations", ["generation_id", "sample_id"]).to_pylist():
        if g["generation_id"] in judged:
            gid = g["generation_id"].replace("'", "''")
            image = wh.read_blob("generations", "image", f"generation_id = '{gid}'")[0]
            msgs = with_image_detail(judge_prompt.messages(data_url(image), samples[g["sample_id"]],
                                                           questions[g["sample_id"]], 0), "high")  # the sciir protocol's
            finished_keys.add(request_key({"model": "fake-vlm", "messages": msgs}))
    assert not finished_keys & {e["key"] for e in after}  # judged generations were not asked again
    # images were all generated before the kill: none was asked for again; judgements answered before the kill
    # but not yet committed came from the request cache, so only those in flight at the kill were re-sent
    assert sum(e["model"] == "fake-image" for e in log) == 800
    judge_keys = [e["key"] for e in log if e["model"] == "fake-vlm"]
    assert len(set(judge_keys)) == 800 and len(after) <= 800 - len(judged)
    gens = wh.read("generations", ["generation_id"])["generation_id"]
    verdicts = wh.read("verdicts", ["verdict_id"])["verdict_id"]
    assert len(gens) == 800 and pc.count_distinct(gens).as_py() == 800
    assert len(verdicts) == 12962 and pc.count_distinct(verdicts).as_py() == 12962


def test_sweep_killed_mid_run_reruns_to_a_clean_sweep(tmp_path, ray_local, killed_cli):
    """`bench sweep` (attached to this session's Ray) SIGKILLed before its third
    checkpoint commit, then re-run: generations equal a clean sweep of a copy
    of the same warehouse, ids unique, committed images not asked for again,
    and the killed run's `runs` row stays 'running'."""
    import shutil

    wh = Warehouse(str(tmp_path / "wh"))
    load_release(wh, RELEASE)
    clean = Warehouse(str(tmp_path / "clean"))
    shutil.copytree(wh.root, clean.root)
    where = "`group` = 'All_Three' AND mode = 'IF'"  # 100 samples: four checkpoints of 25
    with FakeOpenAI(FakeConfig(capacity=16)) as server:
        models = _fake_models(tmp_path, server.url)
        killed_cli("commit", "generations", 3, "bench", "sweep", "--data", wh.root, "--models", str(models),
                   "--where", where, "--commit-every", "25", "--no-progress",
                   "--address", ray_local.get_runtime_context().gcs_address)
        committed = set(wh.read("generations", ["sample_id"])["sample_id"].to_pylist())
        assert len(committed) == 50
        asked = len(server.log)
        specs = load_models(models)
        run_sweep(wh, specs, where=where, progress=False)
        again = [e["key"] for e in list(server.log)[asked:]]
        run_sweep(clean, specs, where=where, progress=False)

    prompts = wh.read("bench_samples", ["sample_id", "prompt"]).to_pandas().set_index("sample_id")["prompt"]
    done = {image_request_key({"model": "fake-image", "prompt": prompts[s], "size": "1024x1024", "seed": 0})
            for s in committed}
    assert not done & set(again)  # committed generations were not asked for again
    columns = ["generation_id", "model", "sample_id", "seed", "backend", "error", "sha256", "width", "height"]
    got, want = (w.read("generations", columns).sort_by("generation_id") for w in (wh, clean))
    assert got.num_rows == 100 and got.equals(want) and pc.count_distinct(got["generation_id"]).as_py() == 100
    statuses = wh.read("runs", ["status"])["status"].to_pylist()
    assert statuses.count("running") == 1 and statuses.count("succeeded") == 1
