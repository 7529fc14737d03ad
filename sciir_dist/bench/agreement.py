"""`sciir bench agreement`: how far a judge can be trusted (issue 13, SPEC §6).

Two sides answer the same (generation, question) items: two judges, or a
judge and human labels. Per category and overall: the items both sides
answered yes/no (an abstention on either side is counted, never compared),
raw agreement, Cohen's κ with its 2x2 table, and the veto accuracy each side
gives on those common items with the difference, i.e. what swapping one judge
for the other does to `bench score`. κ is None where chance agreement is 1
(both sides constant and equal): undefined rather than perfect.

Test-retest: one judge run at several sampling seeds (stored as judges
``<judge>+seed<N>``, see :func:`sciir_dist.bench.judge.seeded`): agreement and
κ of every pair of seeds (mean and min; each pair on the items both answered),
Fleiss' κ over the items every seed answered yes/no, and the range of the veto
accuracy across seeds on those items.
"""

from __future__ import annotations

import csv
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from schemas.tables import CATEGORIES
from sciir_dist.bench.import_verdicts import normalise_answer
from sciir_dist.bench.judge import seed_of
from sciir_dist.bench.samples import question_id
from sciir_dist.bench.score import ScoreOptions, pick_verdicts
from sciir_dist.bench.sweep import generation_id
from sciir_dist.warehouse import Warehouse

OVERALL = "all"
YES_NO = ("yes", "no")
KEYS = ["generation_id", "question_id"]
#: shown per bad file, the rest counted
MAX_ERRORS_SHOWN = 10


class AgreementError(ValueError):
    """The sides cannot be compared as asked (bad labels, unknown judge...)."""


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a label for reports and its answers
    (generation_id, question_id, answer in yes/no/abstain)."""

    label: str
    answers: pd.DataFrame


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float | None:
    """κ of two raters' yes (True) / no (False) answers on the same items."""
    if len(a) == 0:
        return None
    observed = float(np.mean(a == b))
    pa, pb = float(np.mean(a)), float(np.mean(b))
    chance = pa * pb + (1 - pa) * (1 - pb)
    return None if chance == 1 else (observed - chance) / (1 - chance)


def fleiss_kappa(yes: np.ndarray, raters: int) -> float | None:
    """Fleiss' κ of ``raters`` raters over items with ``yes[i]`` yes votes each."""
    if len(yes) == 0 or raters < 2:
        return None
    per_item = (yes**2 + (raters - yes) ** 2 - raters) / (raters * (raters - 1))
    p_yes = float(yes.sum()) / (len(yes) * raters)
    chance = p_yes**2 + (1 - p_yes) ** 2
    return None if chance == 1 else (float(per_item.mean()) - chance) / (1 - chance)


def pair_stats(a: pd.Series, b: pd.Series) -> dict:
    """Agreement of two sides' yes/no answers on the same items."""
    ya, yb = a.eq("yes").to_numpy(), b.eq("yes").to_numpy()
    return {"n": int(len(ya)), "agreement": float(np.mean(ya == yb)) if len(ya) else None,
            "kappa": cohen_kappa(ya, yb), "yes_yes": int((ya & yb).sum()), "yes_no": int((ya & ~yb).sum()),
            "no_yes": int((~ya & yb).sum()), "no_no": int((~ya & ~yb).sum())}


def veto(items: pd.DataFrame, answer: str) -> dict[str, float | None]:
    """Veto accuracy per category (and overall as Final) on these items, as
    `bench score` computes it: a generation passes a category when every one
    of its questions there is yes; seeds of a model's sample are averaged,
    then samples."""
    passed = items.assign(_yes=items[answer].eq("yes")).groupby(
        ["model", "sample_id", "generation_id", "category"])["_yes"].all()
    acc = passed.groupby(["model", "sample_id", "category"]).mean().groupby("category").mean()
    out = {c: float(acc[c]) if c in acc.index else None for c in CATEGORIES}
    out[OVERALL] = None if any(v is None for v in out.values()) else float(np.mean(list(out.values())))
    return out


def items(wh: Warehouse) -> pd.DataFrame:
    """Every (generation, question) a judge can answer: successful
    generations x their sample's questions, with category, model and sample."""
    for t in ("bench_questions", "generations"):
        if not wh.exists(t) or not wh.count(t):
            raise AgreementError(f"no {t} in {wh.root}: run the bench commands that fill it first")
    gens = wh.read("generations", ["generation_id", "model", "sample_id"], where="error IS NULL").to_pandas()
    questions = wh.read("bench_questions", ["question_id", "sample_id", "category"]).to_pandas()
    return gens.merge(questions, on="sample_id")


def _verdicts(wh: Warehouse) -> pd.DataFrame:
    if not wh.exists("verdicts") or not wh.count("verdicts"):
        raise AgreementError(f"no verdicts in {wh.root}: run `sciir bench judge` first")
    return wh.read("verdicts", ["generation_id", "question_id", "judge", "prompt_version", "answer"]).to_pandas()


def judge_side(wh: Warehouse, judge: str, version: str | None = None) -> Side:
    """The verdicts of one judge (and prompt version: refused when ambiguous)."""
    v, name, found = pick_verdicts(_verdicts(wh), ScoreOptions(judge=judge, prompt_version=version))
    return Side(f"{name} ({found})" if found else name, v[KEYS + ["answer"]].reset_index(drop=True))


# -- human labels ---------------------------------------------------------------
def _blank(value) -> bool:
    return value is None or str(value).strip() == ""


def read_labels(path: Path) -> list[tuple[int, dict]]:
    """(line number, record) of a CSV (with a header) or JSONL file."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise AgreementError(f"{path}: human labels must be a .csv or .jsonl file, not {suffix or 'no extension'!r}")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            if suffix == ".csv":
                reader = csv.DictReader(f)
                records = [(reader.line_num, r) for r in reader]
                columns = set(reader.fieldnames or [])
                wanted = [("answer",), ("generation_id", "model", "sample_id", "seed"), ("question_id", "idx")]
                lacking = [" or ".join(w) for w in wanted if not columns & set(w)]
                if lacking:
                    raise AgreementError(f"{path}: no column {'; no column '.join(lacking)} "
                                         f"(has {sorted(c for c in columns if c)})")
                return records
            records = []
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError as exc:
                    raise AgreementError(f"{path}: line {n} is not JSON ({exc})") from None
                if not isinstance(rec, dict):
                    raise AgreementError(f"{path}: line {n} is not a JSON object")
                records.append((n, rec))
            return records
    except (OSError, UnicodeDecodeError) as exc:
        raise AgreementError(f"{path}: cannot read human labels ({exc})") from None


def _label(rec: dict, gens: dict[str, str], questions: dict[str, str]) -> tuple[str, str, str]:
    """(generation_id, question_id, answer) of one record; ValueError says why not."""
    if None in rec:
        raise ValueError("more cells than the header has columns")
    gid = None if _blank(rec.get("generation_id")) else str(rec["generation_id"]).strip()
    if gid is None:
        missing = [k for k in ("model", "sample_id", "seed") if _blank(rec.get(k))]
        if missing:
            raise ValueError(f"needs generation_id, or model, sample_id and seed (missing {', '.join(missing)})")
        try:
            seed = int(str(rec["seed"]).strip())
        except ValueError:
            raise ValueError(f"seed must be an integer, got {rec['seed']!r}") from None
        gid = generation_id(str(rec["model"]).strip(), str(rec["sample_id"]).strip(), seed)
    if gid not in gens:
        raise ValueError(f"unknown generation {gid!r} (no successful generation has this id)")
    sample = gens[gid]
    if not _blank(rec.get("sample_id")) and str(rec["sample_id"]).strip() != sample:
        raise ValueError(f"sample_id {rec['sample_id']!r} is not generation {gid!r}'s sample {sample!r}")
    if not _blank(rec.get("question_id")):
        qid = str(rec["question_id"]).strip()
    elif not _blank(rec.get("idx")):
        try:
            qid = question_id(sample, int(str(rec["idx"]).strip()))
        except ValueError:
            raise ValueError(f"idx must be an integer, got {rec['idx']!r}") from None
    else:
        raise ValueError("needs question_id, or idx (with the generation's sample)")
    if qid not in questions:
        raise ValueError(f"unknown question {qid!r}")
    if questions[qid] != sample:
        raise ValueError(f"question {qid!r} belongs to sample {questions[qid]!r}, not to {gid!r}'s {sample!r}")
    answer = normalise_answer(rec.get("answer"))
    if answer is None:
        raise ValueError(f"answer must be yes or no, got {rec.get('answer')!r}")
    return gid, qid, answer


def human_side(wh: Warehouse, path: Path, universe: pd.DataFrame) -> Side:
    """Human labels per question, every record checked: a file with any bad
    record is refused whole, each problem named by line, so no label is lost."""
    records = read_labels(path)
    if not records:
        raise AgreementError(f"{path}: no labels")
    gens = dict(zip(universe["generation_id"], universe["sample_id"]))
    questions = wh.read("bench_questions", ["question_id", "sample_id"]).to_pandas()
    questions = dict(zip(questions["question_id"], questions["sample_id"]))
    rows, errors, seen = [], [], {}
    for line, rec in records:
        try:
            gid, qid, answer = _label(rec, gens, questions)
        except ValueError as exc:
            errors.append(f"line {line}: {exc}")
            continue
        if (gid, qid) in seen:
            errors.append(f"line {line}: ({gid}, {qid}) is labelled already on line {seen[gid, qid]}")
            continue
        seen[gid, qid] = line
        rows.append((gid, qid, answer))
    if errors:
        more = f"\n  ... and {len(errors) - MAX_ERRORS_SHOWN} more" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise AgreementError(f"{path}: {len(errors)} bad label(s) of {len(records)}; nothing compared:\n  "
                             + "\n  ".join(errors[:MAX_ERRORS_SHOWN]) + more)
    return Side(f"human:{path.name}", pd.DataFrame(rows, columns=KEYS + ["answer"]))


# -- two sides ------------------------------------------------------------------
def agreement(universe: pd.DataFrame, a: Side, b: Side) -> tuple[list[dict], dict]:
    """(rows per category and overall, meta) of side ``a`` against ``b``."""
    joined = universe.merge(a.answers.rename(columns={"answer": "a"}), on=KEYS, how="left") \
        .merge(b.answers.rename(columns={"answer": "b"}), on=KEYS, how="left")
    joined = joined[joined["a"].notna() | joined["b"].notna()]
    voted = joined[joined["a"].isin(YES_NO) & joined["b"].isin(YES_NO)]
    veto_a, veto_b = veto(voted, "a"), veto(voted, "b")
    rows = []
    for cat in (*CATEGORIES, OVERALL):
        part = joined if cat == OVERALL else joined[joined["category"] == cat]
        both = part[part["a"].notna() & part["b"].notna()]
        common = voted if cat == OVERALL else voted[voted["category"] == cat]
        va, vb = veto_a[cat], veto_b[cat]
        rows.append({"category": cat, **pair_stats(common["a"], common["b"]),
                     "abstain_a": int(both["a"].eq("abstain").sum()), "abstain_b": int(both["b"].eq("abstain").sum()),
                     "only_a": int((part["a"].notna() & part["b"].isna()).sum()),
                     "only_b": int((part["b"].notna() & part["a"].isna()).sum()),
                     "veto_a": va, "veto_b": vb, "veto_diff": None if va is None or vb is None else vb - va})
    unmatched = {s.label: int(len(s.answers) - len(s.answers.merge(universe[KEYS], on=KEYS))) for s in (a, b)}
    meta = {"a": a.label, "b": b.label, "models": sorted(voted["model"].unique()),
            "not_in_benchmark": unmatched}  # verdicts on generations/questions the warehouse no longer holds
    return rows, meta


def compare(wh: Warehouse, judge: str, version: str | None, against: str | None = None,
            against_version: str | None = None, human: Path | None = None) -> tuple[list[dict], dict]:
    """A judge against another judge or against human labels."""
    if (against is None) == (human is None):
        raise AgreementError("compare the judge with one of: another judge (--against) or human labels (--human)")
    if against == judge and against_version == version:
        raise AgreementError(f"both sides are {judge}: name two different judges or prompt versions")
    universe = items(wh)
    a = judge_side(wh, judge, version)
    b = human_side(wh, human, universe) if human is not None else judge_side(wh, against, against_version)
    return agreement(universe, a, b)


# -- test-retest ----------------------------------------------------------------
def seeded_runs(verdicts: pd.DataFrame, judge: str, version: str | None) -> pd.DataFrame:
    """The verdicts of ``judge``'s seeded runs, with a seed column; one
    prompt version only."""
    names = {n: seed_of(n) for n in verdicts["judge"].unique()}
    runs = {n: s for n, (base, s) in names.items() if base == judge and s is not None}
    v = verdicts[verdicts["judge"].isin(list(runs))]
    if version is not None:
        v = v[v["prompt_version"].fillna("") == version]
    versions = sorted(set(v["prompt_version"].fillna("")))
    if len(versions) > 1:
        raise AgreementError(f"seeded runs of {judge} were made under several prompt versions {versions}: "
                             f"pass --judge-version")
    v = v.assign(seed=v["judge"].map(runs))
    seeds = sorted(v["seed"].unique())
    if len(seeds) < 2:
        unseeded = judge in names
        raise AgreementError(
            f"test-retest needs verdicts of {judge} at two or more seeds; found {len(seeds)} {[int(s) for s in seeds]}"
            + (" (and an unseeded run)" if unseeded else "")
            + f": run `sciir bench judge --judge {judge} --seed N --set roles.judge.temperature=0.7` once per seed")
    return v


def retest(wh: Warehouse, judge: str, version: str | None = None) -> tuple[list[dict], dict]:
    """(rows per category and overall, meta) of one judge across its seeds."""
    v = seeded_runs(_verdicts(wh), judge, version)
    seeds = sorted(int(s) for s in v["seed"].unique())
    wide = v.set_index(KEYS + ["seed"])["answer"].unstack("seed").reset_index()
    wide = items(wh).merge(wide, on=KEYS)
    answered = wide[seeds].isin(YES_NO)
    every = wide[answered.all(axis=1)]
    vetoes = [veto(every, s) for s in seeds]
    rows = []
    for cat in (*CATEGORIES, OVERALL):
        in_cat = slice(None) if cat == OVERALL else (wide["category"] == cat).to_numpy()
        part, ok = wide[in_cat], answered[in_cat]
        full = every if cat == OVERALL else every[every["category"] == cat]
        pairs = [pair_stats(part.loc[ok[s] & ok[t], s], part.loc[ok[s] & ok[t], t])
                 for s, t in itertools.combinations(seeds, 2)]
        agree = [p["agreement"] for p in pairs if p["agreement"] is not None]
        kappas = [p["kappa"] for p in pairs if p["kappa"] is not None]
        per_seed = [x[cat] for x in vetoes if x[cat] is not None]
        rows.append({"category": cat, "seeds": len(seeds), "n": int(len(full)),
                     "abstained": int(part[seeds].eq("abstain").any(axis=1).sum()),
                     "incomplete": int(part[seeds].isna().any(axis=1).sum()),
                     "agreement_mean": float(np.mean(agree)) if agree else None,
                     "agreement_min": float(np.min(agree)) if agree else None,
                     "kappa_mean": float(np.mean(kappas)) if kappas else None,
                     "kappa_min": float(np.min(kappas)) if kappas else None,
                     "fleiss_kappa": fleiss_kappa(full[seeds].eq("yes").sum(axis=1).to_numpy(), len(seeds)),
                     "veto_min": min(per_seed) if per_seed else None, "veto_max": max(per_seed) if per_seed else None})
    meta = {"judge": judge, "prompt_version": sorted(set(v["prompt_version"].fillna("")))[0], "seeds": seeds,
            "pairs": len(seeds) * (len(seeds) - 1) // 2}
    return rows, meta
