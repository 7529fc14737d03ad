"""`sciir bench correlate`: agreement of the metric with human ratings
(Pearson r, Kendall tau, Spearman rho, as the paper's Table 3), each with a
seeded bootstrap 95 % interval over the rated samples.

A sample's metric score is, per ``--per-sample``:

- ``passrate`` (default, the paper's appendix G): the share of its checklist
  questions answered yes, over all categories (seeds averaged);
- ``veto``: the mean of its per-category veto values V(i, c), i.e. what
  `bench score` averages. Stricter, and coarser: with four categories a
  sample can only score 0, .25, .5, .75 or 1, so rank correlations tie more.

A missing or failed generation scores 0 either way (it fails every question).
"""

from __future__ import annotations

import warnings
from enum import Enum

import numpy as np
import pandas as pd
from scipy import stats

from sciir_dist.bench.score import ScoreOptions, per_sample, pick_verdicts, question_trials
from sciir_dist.warehouse import Warehouse

COEFFICIENTS = {"pearson_r": stats.pearsonr, "kendall_tau": stats.kendalltau, "spearman_rho": stats.spearmanr}


class PerSample(str, Enum):
    passrate = "passrate"
    veto = "veto"


def sample_scores(wh: Warehouse, opts: ScoreOptions, how: PerSample = PerSample.passrate) -> pd.DataFrame:
    """model, sample_id, score for every sample of every model."""
    samples = wh.read("bench_samples", ["sample_id", "mode", "group"]).to_pandas()
    questions = wh.read("bench_questions", ["question_id", "sample_id", "category"]).to_pandas()
    generations = wh.read("generations", ["generation_id", "model", "sample_id", "seed", "error"]).to_pandas()
    verdicts, _, _ = pick_verdicts(
        wh.read("verdicts", ["generation_id", "question_id", "judge", "prompt_version", "answer"]).to_pandas(), opts)
    if how == PerSample.veto:
        v = per_sample(samples, questions, generations, verdicts, opts.exclude_unjudged)
        return v.groupby(["model", "sample_id"], as_index=False)["v"].mean().rename(columns={"v": "score"})
    rows = question_trials(samples, questions, generations, verdicts, opts.exclude_unjudged)
    per_trial = rows.groupby(["model", "sample_id", "seed"], as_index=False)["yes"].mean()
    return per_trial.groupby(["model", "sample_id"], as_index=False)["yes"].mean().rename(columns={"yes": "score"})


def coefficients(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    with warnings.catch_warnings():  # a constant resample has no correlation: NaN, dropped from the interval
        warnings.simplefilter("ignore")
        return {name: float(f(x, y).statistic) for name, f in COEFFICIENTS.items()}


def bootstrap(x: np.ndarray, y: np.ndarray, n: int, seed: int) -> dict[str, tuple[float | None, float | None]]:
    """Percentile 95 % interval of each coefficient over resampled pairs."""
    rng = np.random.default_rng(seed)
    draws = [coefficients(x[i], y[i]) for i in rng.integers(0, len(x), size=(n, len(x)))]
    out = {}
    for name in COEFFICIENTS:
        vals = np.array([d[name] for d in draws], dtype=float)
        vals = vals[np.isfinite(vals)]
        out[name] = (float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))) if len(vals) else (None, None)
    return out


def correlate(wh: Warehouse, human_csv: str, opts: ScoreOptions, model: str | None = None,
              how: PerSample = PerSample.passrate) -> dict:
    human = pd.read_csv(human_csv)
    missing = {"sample_id", "rating"} - set(human.columns)
    if missing:
        raise ValueError(f"{human_csv}: needs columns sample_id, rating (and optionally model); missing {sorted(missing)}")
    scores = sample_scores(wh, opts, how)
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
    x, y = joined["score"].to_numpy(float), joined["rating"].to_numpy(float)
    res: dict = {"per_sample": PerSample(how).value, "pairs": int(len(joined)), **coefficients(x, y)}
    if opts.bootstrap > 0:
        for name, (lo, hi) in bootstrap(x, y, opts.bootstrap, opts.seed).items():
            res[f"{name}_ci_low"], res[f"{name}_ci_high"] = lo, hi
    return res
