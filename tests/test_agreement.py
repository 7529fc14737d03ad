"""Issue 13 item 5: judge reliability with known answers. Cohen's and
Fleiss' κ on textbook tables, two planted judges (and the same answers given
as human labels) compared per category, the veto each side gives equal to
`bench score`, and test-retest of a judge run at two sampling seeds against
the fake server on loopback."""

from __future__ import annotations

import csv
import json

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from schemas.tables import VERDICTS
from sciir_dist.bench.agreement import AgreementError, cohen_kappa, compare, fleiss_kappa, retest
from sciir_dist.bench.judge import verdict_id
from sciir_dist.bench.score import ScoreOptions, score
from sciir_dist.warehouse import Warehouse

#: (a, b) answers, repeated: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no in every 50 items
PATTERN = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
VERSION = "judge-v2:sciir"
SHORT = {"ScientificLaw": "SL", "EntityStructure": "ES", "ScientificProcess": "SP", "Text": "Text"}


def test_kappa_of_textbook_tables():
    a = np.array([x == "yes" for x, _ in PATTERN])
    b = np.array([y == "yes" for _, y in PATTERN])
    # observed 0.7, chance 0.5 x 0.6 + 0.5 x 0.4 = 0.5
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    assert cohen_kappa(np.ones(4, bool), np.ones(4, bool)) is None  # both constant: undefined, not perfect
    # 3 raters, yes votes per item 3,3,0,0,2,1: P = 7/9, chance 0.5 -> 5/9
    assert fleiss_kappa(np.array([3, 3, 0, 0, 2, 1]), 3) == pytest.approx(5 / 9)


def _items(wh: Warehouse):
    gens = wh.read("generations", ["generation_id", "model", "sample_id", "seed"]).to_pandas()
    qs = wh.read("bench_questions", ["question_id", "sample_id", "idx", "category"]).to_pandas()
    return gens.merge(qs, on="sample_id").sort_values(["generation_id", "idx"]).reset_index(drop=True)


def _plant(wh: Warehouse, answers: dict[str, list[str | None]]) -> None:
    """Verdicts of each judge: answers[judge][k] for item k (None: no verdict)."""
    items = _items(wh)
    rows = [{"verdict_id": verdict_id(g, q, judge, VERSION), "generation_id": g, "question_id": q, "judge": judge,
             "prompt_version": VERSION, "answer": ans, "reason": "planted"}
            for judge, column in answers.items()
            for g, q, ans in zip(items["generation_id"], items["question_id"], column) if ans is not None]
    wh.upsert("verdicts", pa.Table.from_pylist(rows, schema=VERDICTS))


def test_two_judges_known_kappa_abstentions_apart(generated_bench):
    wh = generated_bench
    n = len(_items(wh))
    assert n > len(PATTERN)
    # the first 50 items answered by both; then b abstains on 3 and is silent on the rest
    a = [x for x, _ in PATTERN] + ["yes"] * (n - len(PATTERN))
    b = [y for _, y in PATTERN] + ["abstain"] * 3 + [None] * (n - len(PATTERN) - 3)
    _plant(wh, {"vlm:a": a, "vlm:b": b})
    rows, meta = compare(wh, "vlm:a", None, against="vlm:b")
    overall = rows[-1]
    assert overall["category"] == "all" and meta["a"].startswith("vlm:a") and meta["b"].startswith("vlm:b")
    assert (overall["n"], overall["yes_yes"], overall["yes_no"], overall["no_yes"], overall["no_no"]) == (50, 20, 5, 10, 15)
    assert overall["agreement"] == pytest.approx(0.7) and overall["kappa"] == pytest.approx(0.4)
    assert overall["abstain_b"] == 3 and overall["only_a"] == n - len(PATTERN) - 3 and overall["only_b"] == 0
    assert sum(r["n"] for r in rows[:-1]) == 50  # the categories split the same items
    with pytest.raises(AgreementError, match="two different"):
        compare(wh, "vlm:a", None, against="vlm:a")


def test_veto_per_side_equals_bench_score_and_humans_compare_like_a_judge(generated_bench, tmp_path):
    wh = generated_bench
    items = _items(wh)
    rng = np.random.default_rng(3)
    a = list(rng.choice(["yes", "no"], size=len(items), p=[0.85, 0.15]))
    b = list(rng.choice(["yes", "no"], size=len(items), p=[0.9, 0.1]))
    _plant(wh, {"vlm:a": a, "vlm:b": b})
    rows, _ = compare(wh, "vlm:a", None, against="vlm:b")
    by_cat = {r["category"]: r for r in rows}
    for side, judge in (("veto_a", "vlm:a"), ("veto_b", "vlm:b")):
        res, _ = score(wh, ScoreOptions(judge=judge, bootstrap=0))
        avg = res[(res["split"] == "Avg") & (res["group"] == "all")].set_index("category")["accuracy"]
        for cat, short in SHORT.items():
            assert by_cat[cat][side] == pytest.approx(avg[short]), (judge, cat)
        assert by_cat["all"][side] == pytest.approx(avg["Final"])
    assert by_cat["all"]["veto_diff"] == pytest.approx(by_cat["all"]["veto_b"] - by_cat["all"]["veto_a"])

    # judge b's answers as human labels, keyed the two ways a labeller may write them
    labels = tmp_path / "human.csv"
    with open(labels, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "sample_id", "seed", "idx", "generation_id", "question_id", "answer"])
        for k, (r, ans) in enumerate(zip(items.to_dict("records"), b)):
            if k % 2:
                w.writerow([r["model"], r["sample_id"], r["seed"], r["idx"], "", "", ans.upper()])
            else:
                w.writerow(["", "", "", "", r["generation_id"], r["question_id"], ans])
    human_rows, meta = compare(wh, "vlm:a", None, human=labels)
    assert meta["b"] == "human:human.csv"
    assert human_rows == rows

    jsonl = tmp_path / "bad.jsonl"
    first = items.iloc[0]
    jsonl.write_text("\n".join(json.dumps(x) for x in [
        {"generation_id": first["generation_id"], "question_id": first["question_id"], "answer": "yes"},
        {"generation_id": first["generation_id"], "question_id": first["question_id"], "answer": "no"},
        {"generation_id": "nope|x|0", "idx": 0, "answer": "yes"},
        {"generation_id": first["generation_id"], "idx": 1, "answer": "maybe"},
    ]))
    with pytest.raises(AgreementError) as err:
        compare(wh, "vlm:a", None, human=jsonl)
    text = str(err.value)
    assert "3 bad label(s) of 4" in text and "line 2" in text and "line 3: unknown generation" in text
    assert "line 4: answer must be yes or no" in text


def test_retest_of_planted_seeds(generated_bench):
    wh = generated_bench
    n = len(_items(wh))
    votes = [3, 3, 0, 0, 2, 1]  # yes votes of three seeds on six items; the other items: one seed missing
    per_seed = [[("yes" if k < votes[i] else "no") for i in range(6)] for k in range(3)]
    per_seed[2] += [None] * (n - 6)
    per_seed[0] += ["yes"] * (n - 6)
    per_seed[1] += ["yes"] * (n - 6)
    _plant(wh, {f"vlm:x+seed{s}": col for s, col in zip((11, 12, 13), per_seed)})
    rows, meta = retest(wh, "vlm:x")
    assert meta["seeds"] == [11, 12, 13] and meta["pairs"] == 3
    overall = rows[-1]
    assert overall["n"] == 6 and overall["incomplete"] == n - 6
    assert overall["fleiss_kappa"] == pytest.approx(5 / 9)
    with pytest.raises(AgreementError, match="two or more seeds"):
        retest(wh, "vlm:a")


def test_cli_judge_at_two_seeds_then_retest(generated_bench):
    from sciir_dist.backends.fake_openai import FakeConfig, FakeOpenAI
    from sciir_dist.cli import app

    wh = generated_bench
    runner = CliRunner()
    with FakeOpenAI(FakeConfig()) as server:
        for seed in (1, 2):
            res = runner.invoke(app, ["bench", "judge", "--data", wh.root, "--vlm-url", server.url,
                                      "--vlm-model", "fake-vlm", "--seed", str(seed), "--vlm-retries", "1",
                                      "--set", "roles.judge.temperature=0.7", "--no-progress"])
            assert res.exit_code == 0, res.output
        sent = {(e["seed"], e["temperature"]) for e in server.log}
    assert sent == {(1, 0.7), (2, 0.7)}
    judges = set(wh.read("verdicts", ["judge"]).column("judge").to_pylist())
    assert judges == {"vlm:fake-vlm+seed1", "vlm:fake-vlm+seed2"}
    res = runner.invoke(app, ["bench", "agreement", "--data", wh.root, "--retest", "vlm:fake-vlm", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.splitlines() if line.startswith("{")]
    overall = next(r for r in rows if r["category"] == "all")
    assert overall["seeds"] == 2 and overall["n"] == wh.count("bench_questions")
    assert 0.0 <= overall["agreement_mean"] < 1.0  # the fake answers differently per seed
