"""`sciir bench correlate`: agreement of the metric with human ratings
(Pearson r, Kendall tau, Spearman rho; the paper's Table 3). A sample's
metric score is the mean of its per-category veto values V(i, c)."""

from __future__ import annotations

import pandas as pd
from scipy import stats

from sciir_dist.bench.score import ScoreOptions, per_sample, pick_verdicts
from sciir_dist.warehouse import Warehouse


def sample_scores(wh: Warehouse, opts: ScoreOptions) -> pd.DataFrame:
    samples = wh.read("bench_samples", ["sample_id", "mode", "group"]).to_pandas()
    questions = wh.read("bench_questions", ["question_id", "sample_id", "category"]).to_pandas()
    generations = wh.read("generations", ["generation_id", "model", "sample_id", "seed", "error"]).to_pandas()
    verdicts, _, _ = pick_verdicts(
        wh.read("verdicts", ["generation_id", "question_id", "judge", "prompt_version", "answer"]).to_pandas(), opts)
    v = per_sample(samples, questions, generations, verdicts, opts.exclude_unjudged)
    return v.groupby(["model", "sample_id"], as_index=False)["v"].mean().rename(columns={"v": "score"})


def correlate(wh: Warehouse, human_csv: str, opts: ScoreOptions, model: str | None = None) -> dict:
    human = pd.read_csv(human_csv)
    missing = {"sample_id", "rating"} - set(human.columns)
    if missing:
        raise ValueError(f"{human_csv}: needs columns sample_id, rating (and optionally model); missing {sorted(missing)}")
    scores = sample_scores(wh, opts)
    if "model" not in human.columns:
        models = sorted(scores["model"].unique()) if model is None else [model]
        if len(models) != 1:
            raise ValueError(f"ratings have no model column and the warehouse holds {models}: pass --model")
        human = human.assign(model=models[0])
    joined = human.merge(scores, on=["model", "sample_id"], how="inner")
    if len(joined) < 3:
        raise ValueError(f"only {len(joined)} rated samples match scored generations; need at least 3")
    if joined["score"].nunique() < 2 or joined["rating"].nunique() < 2:
        raise ValueError("per-sample scores or ratings are constant: correlation is undefined")
    return {
        "pairs": int(len(joined)),
        "pearson_r": float(stats.pearsonr(joined["score"], joined["rating"]).statistic),
        "kendall_tau": float(stats.kendalltau(joined["score"], joined["rating"]).statistic),
        "spearman_rho": float(stats.spearmanr(joined["score"], joined["rating"]).statistic),
    }
