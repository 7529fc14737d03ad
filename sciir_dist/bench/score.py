"""`sciir bench score`: the paper's veto metric (SPEC §6).

For a generation of sample i and category c, V = 1 iff every question of
category c in i's checklist is answered ``yes``. Seeds of one model are
trials of the same sample (V(i,c) is their mean). Accuracy(c) is the mean of
V(i,c) over the samples with at least one question in c, for IR, IF and both
pooled (``Avg``); Final is the mean of the four category accuracies. A
missing or failed generation fails every category. Abstained or unjudged
questions count as not-yes (and are reported as coverage) unless
``exclude_unjudged`` drops them; a category nothing was judged in is ``None``
rather than a misleading zero. Confidence intervals: seeded bootstrap over
samples (the four categories resampled together, so Final gets one too).

Verdicts of one judge, prompt version and protocol are scored at a time:
mixing judges, or verdicts made under different protocols (``sciir`` vs
``strict-index``, part of the prompt version), is refused with the choices.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sciir_dist.prompts.protocol import protocol_of
from sciir_dist.warehouse import Warehouse

#: report order and short names (as in the paper's Table 1)
CATEGORY_ORDER = (("ScientificLaw", "SL"), ("EntityStructure", "ES"), ("ScientificProcess", "SP"), ("Text", "Text"))
SPLITS = ("IR", "IF", "Avg")


class ScoreError(ValueError):
    """The verdicts cannot be scored as asked (e.g. mixed judges)."""


@dataclass(frozen=True)
class ScoreOptions:
    judge: str | None = None
    prompt_version: str | None = None
    protocol: str | None = None  # only verdicts made under this protocol
    models: tuple[str, ...] | None = None
    by_group: bool = False
    exclude_unjudged: bool = False
    bootstrap: int = 1000
    seed: int = 0


def pick_verdicts(verdicts: pd.DataFrame, opts: ScoreOptions) -> tuple[pd.DataFrame, str, str]:
    """The one (judge, prompt version) to score; refuses to mix them, and
    names mixed protocols as such."""
    v = verdicts
    if opts.judge is not None:
        v = v[v["judge"] == opts.judge]
    if opts.prompt_version is not None:
        v = v[v["prompt_version"].fillna("") == opts.prompt_version]
    if opts.protocol is not None:
        v = v[v["prompt_version"].map(protocol_of) == opts.protocol]
    combos = sorted({(j, p or "") for j, p in zip(v["judge"], v["prompt_version"])})
    if not combos:
        wanted = [f"{k} {x!r}" for k, x in (("judge", opts.judge), ("protocol", opts.protocol)) if x]
        raise ScoreError("no verdicts to score" + (f" for {', '.join(wanted)}" if wanted else "")
                         + ": run `sciir bench judge` first")
    if len(combos) > 1:
        listing = "; ".join(f"--judge {j} --judge-version {p!r}" for j, p in combos)
        mixed = sorted({str(protocol_of(p)) for _, p in combos})
        what = (f"protocols ({', '.join(mixed)}: scores of different protocols are not comparable)" if len(mixed) > 1
                else f"{len(combos)} judges/prompt versions")
        raise ScoreError(f"verdicts mix {what}; choose one: {listing}")
    return v, combos[0][0], combos[0][1]


def question_trials(samples: pd.DataFrame, questions: pd.DataFrame, generations: pd.DataFrame,
                    verdicts: pd.DataFrame, exclude_unjudged: bool) -> pd.DataFrame:
    """One row per (model, sample, seed, question): ``yes`` (a successful
    generation answered yes), ``judged`` (answered yes/no), ``asked`` (the
    generation exists). A missing or failed generation is a trial that fails."""
    models = sorted(generations["model"].unique())
    trials = []
    for m in models:
        g = generations[generations["model"] == m]
        seeds = sorted(g["seed"].unique())
        grid = pd.MultiIndex.from_product([samples["sample_id"], seeds], names=["sample_id", "seed"]).to_frame(index=False)
        grid = grid.merge(g[["sample_id", "seed", "generation_id", "error"]], on=["sample_id", "seed"], how="left")
        grid["model"] = m
        trials.append(grid)
    t = pd.concat(trials, ignore_index=True) if trials else pd.DataFrame(
        columns=["sample_id", "seed", "generation_id", "error", "model"])
    t["ok"] = t["generation_id"].notna() & t["error"].isna()
    rows = t.merge(questions[["question_id", "sample_id", "category"]], on="sample_id", how="inner")
    rows = rows.merge(verdicts[["generation_id", "question_id", "answer"]], on=["generation_id", "question_id"], how="left")
    judged = rows["answer"].isin(["yes", "no"])
    rows["yes"] = rows["ok"] & (rows["answer"] == "yes")
    rows["judged"] = rows["ok"] & judged
    rows["asked"] = rows["ok"]
    return rows[~rows["ok"] | judged] if exclude_unjudged else rows


def per_sample(samples: pd.DataFrame, questions: pd.DataFrame, generations: pd.DataFrame,
               verdicts: pd.DataFrame, exclude_unjudged: bool) -> pd.DataFrame:
    """V(i, c) per model: columns model, sample_id, category, v (mean over
    seeds), judged, asked (question-trials answered yes/no, and all)."""
    rows = question_trials(samples, questions, generations, verdicts, exclude_unjudged)
    trial = rows.groupby(["model", "sample_id", "seed", "category"], sort=False).agg(
        v=("yes", "all"), judged=("judged", "sum"), asked=("asked", "sum")).reset_index()
    out = trial.groupby(["model", "sample_id", "category"], sort=False).agg(
        v=("v", "mean"), judged=("judged", "sum"), asked=("asked", "sum")).reset_index()
    return out.merge(samples[["sample_id", "mode", "group"]], on="sample_id")


def aggregate(v: pd.DataFrame, opts: ScoreOptions) -> pd.DataFrame:
    """One row per (model, split, group, category) incl. Final, with CIs;
    group "all" always, each benchmark group too with ``by_group``."""
    rng = np.random.default_rng(opts.seed)
    cats = [c for c, _ in CATEGORY_ORDER]
    results = []
    parts = [(m, "all", p) for m, p in v.groupby("model", sort=True)]
    if opts.by_group:
        parts += [(m, g, p) for (m, g), p in v.groupby(["model", "group"], sort=True)]
    for model, group, part in parts:
        for split in SPLITS:
            sub = part if split == "Avg" else part[part["mode"] == split]
            if sub.empty:
                continue
            mat = sub.pivot_table(index="sample_id", columns="category", values="v", aggfunc="first").reindex(columns=cats)
            judged = sub.groupby("category")["judged"].sum().reindex(cats).fillna(0)
            asked = sub.groupby("category")["asked"].sum().reindex(cats).fillna(0)
            values = mat.to_numpy(dtype=float)
            acc = np.array([np.nanmean(col) if np.isfinite(col).any() and judged[c] > 0 else np.nan
                            for c, col in zip(cats, values.T)])
            lo, hi = _bootstrap(values, opts.bootstrap, rng, valid=np.isfinite(acc))
            for i, (c, short) in enumerate(CATEGORY_ORDER):
                results.append({"model": model, "split": split, "group": group, "category": short,
                                "accuracy": _num(acc[i]), "ci_low": _num(lo[i]), "ci_high": _num(hi[i]),
                                "samples": int(np.isfinite(values[:, i]).sum()),
                                "coverage": float(judged[c] / asked[c]) if asked[c] else 0.0})
            final = float(np.mean(acc)) if np.isfinite(acc).all() else None
            results.append({"model": model, "split": split, "group": group, "category": "Final", "accuracy": final,
                            "ci_low": _num(lo[-1]) if final is not None else None,
                            "ci_high": _num(hi[-1]) if final is not None else None,
                            "samples": int(len(mat)), "coverage": float(judged.sum() / asked.sum()) if asked.sum() else 0.0})
    return pd.DataFrame(results)


def _bootstrap(values: np.ndarray, n: int, rng: np.random.Generator, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95 % percentile intervals per category and for their mean (last)."""
    k = values.shape[1]
    if n <= 0 or len(values) == 0:
        return np.full(k + 1, np.nan), np.full(k + 1, np.nan)
    idx = rng.integers(0, len(values), size=(n, len(values)))
    with warnings.catch_warnings():  # all-NaN slices (a category no resample holds) are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        accs = np.nanmean(values[idx], axis=1)  # (n, k)
        accs[:, ~valid] = np.nan
        both = np.concatenate([accs, accs.mean(axis=1, keepdims=True)], axis=1)
        return np.nanpercentile(both, 2.5, axis=0), np.nanpercentile(both, 97.5, axis=0)


def _num(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def score(wh: Warehouse, opts: ScoreOptions) -> tuple[pd.DataFrame, dict]:
    """(results, meta) for the warehouse's benchmark, generations and verdicts."""
    for t in ("bench_samples", "bench_questions", "generations", "verdicts"):
        if not wh.exists(t) or not wh.count(t):
            raise ScoreError(f"no {t} in {wh.root}: run the bench commands that fill it first")
    samples = wh.read("bench_samples", ["sample_id", "mode", "group"]).to_pandas()
    questions = wh.read("bench_questions", ["question_id", "sample_id", "category"]).to_pandas()
    generations = wh.read("generations", ["generation_id", "model", "sample_id", "seed", "error"]).to_pandas()
    if opts.models:
        generations = generations[generations["model"].isin(opts.models)]
    verdicts, judge, version = pick_verdicts(
        wh.read("verdicts", ["generation_id", "question_id", "judge", "prompt_version", "answer"]).to_pandas(), opts)
    v = per_sample(samples, questions, generations, verdicts, opts.exclude_unjudged)
    meta = {"judge": judge, "prompt_version": version, "protocol": protocol_of(version), "samples": len(samples), "questions": len(questions),
            "models": sorted(generations["model"].unique()), "bootstrap": opts.bootstrap, "seed": opts.seed,
            "exclude_unjudged": opts.exclude_unjudged}
    return aggregate(v, opts), meta
