"""`sciir bench load` of the published release and the SPEC §6 veto metric
checked against an independent, loop-by-loop computation."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from fractions import Fraction


import pyarrow as pa
import pytest

from schemas.tables import BENCH_QUESTIONS, BENCH_SAMPLES, GENERATIONS, VERDICTS
from sciir_dist.bench.load import find_release, ReleaseError, load_release
from sciir_dist.bench.score import CATEGORY_ORDER, ScoreError, ScoreOptions, score
from sciir_dist.warehouse import Warehouse

RELEASE = find_release()


def test_load_published_release_twice(tmp_path):
    wh = Warehouse(str(tmp_path / "wh"))
    assert load_release(wh, RELEASE) == {"samples": 800, "questions": 12962, "checklist_invalid": 0}
    versions = (wh.version("bench_samples"), wh.version("bench_questions"))
    assert load_release(wh, RELEASE) == {"samples": 800, "questions": 12962, "checklist_invalid": 0}
    assert (wh.version("bench_samples"), wh.version("bench_questions")) == versions  # nothing changed
    s = wh.read("bench_samples").to_pandas()
    assert len(s) == 800 and s["sample_id"].is_unique
    assert s.groupby(["mode", "group"]).size().tolist() == [100] * 8
    assert (s.loc[s["mode"] == "IF", "prompt"] == s.loc[s["mode"] == "IF", "sci_rcot"]).all()
    assert (s.loc[s["mode"] == "IR", "prompt"] == s.loc[s["mode"] == "IR", "abstract_prompt"]).all()
    q = wh.read("bench_questions").to_pandas()
    assert q["question_id"].is_unique
    assert q["category"].value_counts().to_dict() == {"Text": 5201, "EntityStructure": 3402,
                                                      "ScientificProcess": 2339, "ScientificLaw": 2020}
    assert q.groupby("sample_id").size().between(7, 33).all()


def test_load_refuses_a_folder_that_is_not_a_release(tmp_path):
    (tmp_path / "rel" / "instruction_following" / "All_Three").mkdir(parents=True)
    with pytest.raises(ReleaseError, match="missing"):
        load_release(Warehouse(str(tmp_path / "wh")), tmp_path / "rel")


def _random_bench(seed: int) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    cats = [c for c, _ in CATEGORY_ORDER]
    samples, questions, generations, verdicts = [], [], [], []
    for i in range(60):
        mode = "IF" if i % 2 else "IR"
        group = ("All_Three", "EntityStructure_ScientificLaw")[i % 3 == 0]
        sid = f"{mode}/{group}/{i:03d}.png"
        samples.append({"sample_id": sid, "mode": mode, "group": group})
        present = [c for c in cats if rng.random() < 0.8]  # some samples lack a category
        qs = [(c, k) for c in present for k in range(rng.randint(1, 3))]
        for idx, (c, _) in enumerate(qs):
            questions.append({"question_id": f"{sid}#{idx}", "sample_id": sid, "idx": idx, "category": c,
                              "question": f"q{idx}"})
    for model in ("m1", "m2"):
        for s in samples:
            for seed in (0, 1):
                r = rng.random()
                if r < 0.08:
                    continue  # missing generation
                gid = f"{model}|{s['sample_id']}|{seed}"
                err = "boom" if r < 0.14 else None
                generations.append({"generation_id": gid, "model": model, "sample_id": s["sample_id"], "seed": seed,
                                    "error": err})
                if err:
                    continue
                for q in (q for q in questions if q["sample_id"] == s["sample_id"]):
                    a = rng.random()
                    if a < 0.05:
                        continue  # unjudged
                    answer = "yes" if a < 0.75 else ("no" if a < 0.93 else "abstain")
                    verdicts.append({"verdict_id": f"{gid}:{q['question_id']}", "generation_id": gid,
                                     "question_id": q["question_id"], "judge": "vlm:j", "prompt_version": "v1",
                                     "answer": answer, "reason": "r"})
    # generations of m1 seed 1 exist for some samples only; m2 never made seed 1 for the first sample
    return {"samples": samples, "questions": questions, "generations": generations, "verdicts": verdicts}


def _independent(data: dict, exclude_unjudged: bool) -> dict[tuple[str, str, str], float | None]:
    """The metric straight from SPEC §6, one loop at a time, in exact fractions."""
    answers = {(v["generation_id"], v["question_id"]): v["answer"] for v in data["verdicts"]}
    gens = {(g["model"], g["sample_id"], g["seed"]): g for g in data["generations"]}
    qs = defaultdict(list)
    for q in data["questions"]:
        qs[(q["sample_id"], q["category"])].append(q["question_id"])
    out = {}
    for model in ("m1", "m2"):
        seeds = sorted({g["seed"] for g in data["generations"] if g["model"] == model})
        for split in ("IR", "IF", "Avg"):
            accs = []
            for cat, short in CATEGORY_ORDER:
                vs, judged = [], 0
                for s in data["samples"]:
                    if split != "Avg" and s["mode"] != split or not qs[(s["sample_id"], cat)]:
                        continue
                    trial_vs = []
                    for seed in seeds:
                        g = gens.get((model, s["sample_id"], seed))
                        if g is None or g["error"]:
                            trial_vs.append(Fraction(0))
                            continue
                        ans = [answers.get((g["generation_id"], q)) for q in qs[(s["sample_id"], cat)]]
                        judged += sum(a in ("yes", "no") for a in ans)
                        if exclude_unjudged:
                            ans = [a for a in ans if a in ("yes", "no")]
                            if not ans:
                                continue
                        trial_vs.append(Fraction(int(all(a == "yes" for a in ans))))
                    if trial_vs:
                        vs.append(sum(trial_vs) / len(trial_vs))
                acc = float(sum(vs) / len(vs)) if vs and judged else None
                out[(model, split, short)] = acc
                accs.append(acc)
            out[(model, split, "Final")] = None if None in accs else sum(accs) / 4
    return out


def _write(wh: Warehouse, data: dict) -> None:
    full = {"samples": ("bench_samples", BENCH_SAMPLES), "questions": ("bench_questions", BENCH_QUESTIONS),
            "generations": ("generations", GENERATIONS), "verdicts": ("verdicts", VERDICTS)}
    for k, (table, schema) in full.items():
        wh.upsert(table, pa.Table.from_pylist(data[k], schema=schema))


@pytest.mark.parametrize("exclude_unjudged", [False, True])
def test_score_matches_an_independent_computation(tmp_path, exclude_unjudged):
    data = _random_bench(5)
    wh = Warehouse(str(tmp_path / "wh"))
    _write(wh, data)
    results, meta = score(wh, ScoreOptions(exclude_unjudged=exclude_unjudged, bootstrap=200))
    assert meta["judge"] == "vlm:j" and meta["models"] == ["m1", "m2"]
    expected = _independent(data, exclude_unjudged)
    got = {(r["model"], r["split"], r["category"]): r["accuracy"] for r in results.to_dict("records")}
    assert set(got) == set(expected)
    for key, want in expected.items():
        assert (got[key] is None) == (want is None), key
        if want is not None:
            assert math.isclose(got[key], want, rel_tol=1e-12, abs_tol=1e-15), (key, got[key], want)
    for r in results.to_dict("records"):
        if r["accuracy"] is not None:
            assert r["ci_low"] <= r["accuracy"] + 1e-9 and r["accuracy"] - 1e-9 <= r["ci_high"]
    again, _ = score(wh, ScoreOptions(exclude_unjudged=exclude_unjudged, bootstrap=200))
    assert again.equals(results)  # seeded bootstrap: same intervals every time


def test_score_refuses_mixed_judges_unless_told(tmp_path):
    data = _random_bench(6)
    extra = [dict(v, verdict_id=v["verdict_id"] + ":ocr", judge="ocr", prompt_version="ocr-v1")
             for v in data["verdicts"][:50]]
    data["verdicts"] += extra
    wh = Warehouse(str(tmp_path / "wh"))
    _write(wh, data)
    with pytest.raises(ScoreError, match="mix 2 judges"):
        score(wh, ScoreOptions(bootstrap=0))
    results, meta = score(wh, ScoreOptions(judge="ocr", bootstrap=0))
    assert meta["judge"] == "ocr"
    by_group, _ = score(wh, ScoreOptions(judge="vlm:j", by_group=True, bootstrap=0))
    assert set(by_group["group"]) == {"all", "All_Three", "EntityStructure_ScientificLaw"}
    overall, _ = score(wh, ScoreOptions(judge="vlm:j", bootstrap=0))
    assert by_group[by_group["group"] == "all"].reset_index(drop=True).equals(overall)
