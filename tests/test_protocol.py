"""Issue 13: the paper's protocol (sciir) beside strict-index, per-call model
settings and judge ensembles, against the fake OpenAI server on loopback."""

from __future__ import annotations

import pandas as pd
import pytest

from sciir_dist.backends.fake_openai import FaithfulJudge, FakeConfig, FakeOpenAI
from sciir_dist.backends.openai import EndpointSettings
from sciir_dist.bench.judge import JudgeSpec, run_judge
from sciir_dist.bench.score import ScoreError, ScoreOptions, score
from sciir_dist.prompts.protocol import SCIIR, STRICT_INDEX, protocol_of
from sciir_dist.warehouse import Warehouse

PASSING = frozenset({"Text", "ScientificLaw"})


def _vision(url: str, **kw) -> EndpointSettings:
    return EndpointSettings(url=url, model="fake-vlm", max_retries=1, backoff_base_s=0.01, timeout_s=10.0,
                            max_reasks=1, **kw)


def _verdicts(wh: Warehouse, version: str) -> pd.DataFrame:
    v = wh.read("verdicts").to_pandas()
    q = wh.read("bench_questions", ["question_id", "category"]).to_pandas()
    return v[v["prompt_version"] == version].merge(q, on="question_id")


def test_sciir_judge_shows_categories_at_high_detail_and_temperature_zero(generated_bench):
    wh = generated_bench
    with FakeOpenAI(FakeConfig(judge=FaithfulJudge(PASSING))) as server:
        sciir = JudgeSpec(_vision(server.url))
        run_judge(wh, sciir, progress=False)
        sciir_log = list(server.log)
        strict = JudgeSpec(_vision(server.url), protocol=STRICT_INDEX)
        run_judge(wh, strict, progress=False)
        strict_log = server.log[len(sciir_log):]
    assert sciir.version == "judge-v2:sciir" and protocol_of(sciir.version) == SCIIR
    assert len(sciir_log) == 4 and len(strict_log) == 4  # one request per generation, no re-asks
    assert {(e["temperature"], tuple(e["image_detail"]), e["schema_name"]) for e in sciir_log} == {(0.0, ("high",), "verdicts")}
    assert {(e["temperature"], tuple(e["image_detail"])) for e in strict_log} == {(0.0, (None,))}

    # the faithful fake passes exactly the questions whose category it was shown and told to pass
    got = _verdicts(wh, sciir.version)
    n_questions = wh.count("bench_questions")
    assert len(got) == n_questions
    assert (got["answer"] == got["category"].isin(PASSING).map({True: "yes", False: "no"})).all()
    assert got["reason"].str.startswith("category ").all()
    # without categories in the request it cannot tell them apart
    blind = _verdicts(wh, strict.version)
    assert len(blind) == n_questions and set(blind["answer"]) == {"no"}

    with pytest.raises(ScoreError, match="protocols"):
        score(wh, ScoreOptions(bootstrap=0))
    results, meta = score(wh, ScoreOptions(protocol=SCIIR, bootstrap=0))
    assert meta["protocol"] == SCIIR and meta["prompt_version"] == "judge-v2:sciir"
    avg = results[(results["split"] == "Avg") & (results["group"] == "all")].set_index("category")["accuracy"]
    assert avg.to_dict() == {"SL": 1.0, "ES": 0.0, "SP": 0.0, "Text": 1.0, "Final": 0.5}


def test_judge_settings_given_win_over_the_protocol_defaults(generated_bench):
    with FakeOpenAI(FakeConfig(judge=FaithfulJudge(PASSING))) as server:
        spec = JudgeSpec(_vision(server.url, temperature=0.7, image_detail="low", max_tokens=900))
        run_judge(generated_bench, spec, progress=False)
        log = list(server.log)
    assert {(e["temperature"], tuple(e["image_detail"]), e["max_tokens"]) for e in log} == {(0.7, ("low",), 900)}
    run = generated_bench.read("runs").to_pylist()[-1]
    assert '"protocol": "sciir"' in run["params"] and '"image_detail": "low"' in run["params"]


# -- ensembles ------------------------------------------------------------------
#: (answers of judges a, b, c) -> expected (majority, unanimous-yes); abstentions do not vote, a tie is no
CASES = [
    (("yes", "yes", "no"), "yes", "no"),
    (("yes", "no", "no"), "no", "no"),
    (("yes", "yes", "yes"), "yes", "yes"),
    (("yes", "abstain", "no"), "no", "no"),
    (("yes", "abstain", "abstain"), "yes", "yes"),
    (("abstain", "abstain", "abstain"), "abstain", "abstain"),
    (("no", "no", "no"), "no", "no"),
    (("no", "yes", "abstain"), "no", "no"),
]
MEMBERS = (("vlm:a", "judge-v2:sciir"), ("vlm:b", "judge-v2:sciir"), ("ocr", "ocr-judge-v1"))


def _plant_member_verdicts(wh: Warehouse, skip_gid: str) -> dict[tuple[str, str], int]:
    """Each question gets case k (k = its position over all generations);
    member c has no verdicts for ``skip_gid``."""
    import pyarrow as pa

    from schemas.tables import VERDICTS
    from sciir_dist.bench.judge import verdict_id

    gens = wh.read("generations", ["generation_id", "sample_id"]).to_pandas()
    qs = wh.read("bench_questions", ["question_id", "sample_id", "idx"]).to_pandas()
    pairs = gens.merge(qs, on="sample_id").sort_values(["generation_id", "idx"])
    case_of, rows = {}, []
    for k, (gid, qid) in enumerate(zip(pairs["generation_id"], pairs["question_id"])):
        case_of[(gid, qid)] = k % len(CASES)
        for (judge, version), answer in zip(MEMBERS, CASES[k % len(CASES)][0]):
            if judge == "ocr" and gid == skip_gid:
                continue
            rows.append({"verdict_id": verdict_id(gid, qid, judge, version), "generation_id": gid, "question_id": qid,
                         "judge": judge, "prompt_version": version, "answer": answer, "reason": "planted"})
    wh.upsert("verdicts", pa.Table.from_pylist(rows, schema=VERDICTS))
    return case_of


@pytest.mark.parametrize("rule, column", [("majority", 1), ("unanimous-yes", 2)])
def test_ensemble_combines_known_answers(generated_bench, rule, column):
    from sciir_dist.bench.judge import EnsembleSpec, run_ensemble

    wh = generated_bench
    gids = sorted(wh.read("generations", ["generation_id"])["generation_id"].to_pylist())
    case_of = _plant_member_verdicts(wh, skip_gid=gids[0])
    spec = EnsembleSpec(MEMBERS, rule)
    assert spec.name == f"ensemble:{rule}(ocr,vlm:a,vlm:b)" and spec.version == "ensemble-v1:sciir"
    summary = run_ensemble(wh, spec)
    got = wh.read("verdicts", where=f"judge = '{spec.name}'").to_pandas()
    expected = {key: CASES[c][column] for key, c in case_of.items() if key[0] != gids[0]}
    assert dict(zip(zip(got["generation_id"], got["question_id"]), got["answer"])) == expected
    assert set(got["prompt_version"]) == {"ensemble-v1:sciir"}
    # the generation member c never judged gets no verdict made of fewer votes, but a reject
    rejects = wh.read("rejects", where="stage = 'judge-ensemble'").to_pylist()
    assert [(r["item"], r["reason"]) for r in rejects] == [(gids[0], "member_missing")]
    assert summary.rejected == {"judge-ensemble:member_missing": 1}
    # once c has judged it, a rerun fills it in and withdraws the reject
    _plant_member_verdicts(wh, skip_gid="")
    run_ensemble(wh, spec)
    assert wh.count("verdicts", f"judge = '{spec.name}'") == len(case_of)
    assert wh.count("rejects", "stage = 'judge-ensemble'") == 0
    _, meta = score(wh, ScoreOptions(judge=spec.name, bootstrap=0))
    assert meta["protocol"] == SCIIR


def test_ensemble_refuses_mixed_protocols_and_unknown_rules():
    from sciir_dist.bench.judge import EnsembleSpec

    with pytest.raises(ValueError, match="mix protocols"):
        EnsembleSpec((("vlm:a", "judge-v2:sciir"), ("vlm:b", "judge-v2:strict-index")))
    with pytest.raises(ValueError, match="rule"):
        EnsembleSpec(MEMBERS, "plurality")
    with pytest.raises(ValueError, match="two"):
        EnsembleSpec((MEMBERS[0], MEMBERS[0]))
