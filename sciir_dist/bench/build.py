"""`sciir bench build`: select a benchmark from curated panels by the
paper's protocol (SPEC §6).

Candidates are annotated cluster representatives (so no two selected panels
are near-duplicates of each other) with term_count > 3. A panel's group is
the set of tracks with non-empty terms (All_Three or a pair; single-track
panels are not used). Within each group, three successive filters keep
items inside [Q1 - 1, Q3 + 1] of term_count, then of the number of
rendered_text strings, then of retained_text strings; the group's median
term_count splits it (below: IR with the abstract prompt; at or above: IF
with the Sci-RCoT); then N IF and N IR per group are drawn by seeded
sampling (``--per-split``, 100 as in the published release), and a group
with fewer is reported, never padded from elsewhere. Selected
panels are recorded as ``bench_samples.source``: training excludes them, and
`dedup` marks their near-duplicates ``bench_leak``.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pyarrow as pa

from schemas.tables import BENCH_SAMPLES, TRACKS
from sciir_dist.bench.samples import group_of, sample_id
from sciir_dist.sql import is_in
from sciir_dist.warehouse import Warehouse

DEFAULT_PER_SPLIT = 100  # the published release: 100 IF + 100 IR per group
MODES = ("IF", "IR")
MIN_TERMS = 3  # term_count must exceed this


def iqr_keep(values: pd.Series) -> pd.Series:
    """Mask of values inside [Q1 - 1, Q3 + 1]."""
    q1, q3 = values.quantile(0.25), values.quantile(0.75)
    return values.between(q1 - 1, q3 + 1)


def _seed_of(seed: int, group: str, mode: str) -> int:
    """One stream per (group, mode): the draw in one does not depend on the
    candidates of another."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{group}:{mode}".encode()).digest()[:8], "little")


def select(candidates: pd.DataFrame, per_split: int = DEFAULT_PER_SPLIT, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """candidates: panel_id, reasoning (dict), term_count, rendered_text,
    retained_text. Returns (the selection with group and mode, {"<mode>/<group>":
    count} of the splits that had fewer than ``per_split`` items)."""
    c = candidates.copy()
    c["group"] = [group_of([t for t in TRACKS if (r or {}).get(t) and r[t].get("terms")]) for r in c["reasoning"]]
    c = c[(c["term_count"] > MIN_TERMS) & c["group"].notna()]
    c["n_rendered"] = c["rendered_text"].map(lambda v: len(v) if v is not None else 0)
    c["n_retained"] = c["retained_text"].map(lambda v: len(v) if v is not None else 0)
    picked, short = [], {}
    for group, g in c.sort_values("panel_id").groupby("group", sort=True):
        for col in ("term_count", "n_rendered", "n_retained"):
            g = g[iqr_keep(g[col])]
        if g.empty:
            continue
        median = g["term_count"].median()
        g = g.assign(mode=np.where(g["term_count"] < median, "IR", "IF"))
        for mode in MODES:
            part = g[g["mode"] == mode]
            if len(part) < per_split:
                short[f"{mode}/{group}"] = len(part)
            else:
                rng = np.random.default_rng(_seed_of(seed, str(group), mode))
                part = part.iloc[np.sort(rng.choice(len(part), size=per_split, replace=False))]
            picked.append(part)
    if not picked:
        return c.head(0).assign(mode=pd.Series(dtype=str)), short
    return pd.concat(picked, ignore_index=True), short


def candidates(wh: Warehouse) -> pd.DataFrame:
    for t in ("panel_annotations", "panel_dedup"):
        if not wh.exists(t):
            raise ValueError(f"bench build needs {t}: run `sciir curate --stages ...,dedup,...,annotate` first")
    ann = wh.read("panel_annotations", ["panel_id", "reasoning", "sci_rcot", "abstract_prompt", "rendered_text",
                                        "retained_text", "term_count"]).to_pandas()
    reps = set(wh.read("panel_dedup", ["panel_id"], where="dup_of IS NULL").column("panel_id").to_pylist())
    ann = ann[ann["panel_id"].isin(reps)].copy()
    ann["reasoning"] = ann["reasoning"].map(json.loads)
    return ann


def build(wh: Warehouse, per_split: int = DEFAULT_PER_SPLIT, seed: int = 0, replace: bool = False) -> dict:
    if per_split < 1:
        raise ValueError(f"--per-split must be at least 1, got {per_split}")
    chosen, short = select(candidates(wh), per_split, seed)
    rows = []
    for r in chosen.to_dict("records"):
        sid = sample_id(r["mode"], r["group"], f"{r['panel_id']}.png")
        labels = [t for t in TRACKS if r["reasoning"].get(t)]
        rows.append({
            "sample_id": sid, "mode": r["mode"], "group": r["group"],
            "prompt": r["abstract_prompt"] if r["mode"] == "IR" else r["sci_rcot"],
            "sci_rcot": r["sci_rcot"], "abstract_prompt": r["abstract_prompt"],
            "reasoning": json.dumps(r["reasoning"], ensure_ascii=False), "labels": labels,
            "retained_text": list(r["retained_text"] if r["retained_text"] is not None else []),
            "rendered_text": list(r["rendered_text"] if r["rendered_text"] is not None else []),
            "term_count": int(r["term_count"]), "image_filename": f"{r['panel_id']}.png", "source": r["panel_id"],
            "origin": "built",
        })
    table = pa.Table.from_pylist(rows, schema=BENCH_SAMPLES)
    wh.ensure("bench_samples")
    before = set(wh.read("bench_samples", ["sample_id"], where="origin = 'built'").column("sample_id").to_pylist())
    stale = sorted(before - set(table.column("sample_id").to_pylist()))
    if stale and not replace:
        raise ValueError(f"{len(stale)} built samples would leave the benchmark (the curated data changed); "
                         f"re-run with --replace to drop them and their questions")
    if table.num_rows:
        wh.upsert("bench_samples", table)
    if stale:
        wh.open("bench_samples").delete(is_in("sample_id", stale))
        if wh.exists("bench_questions"):
            wh.open("bench_questions").delete(is_in("sample_id", stale))
    counts = chosen.groupby(["mode", "group"]).size().to_dict() if len(chosen) else {}
    return {"selected": table.num_rows, "dropped": len(stale),
            "by_mode_group": {f"{m}/{g}": int(n) for (m, g), n in counts.items()}, "short": short}
