"""Leakage guard against benchmark prompts (SPEC §4 dedup, §6): a training
panel whose text is a near-duplicate of a benchmark prompt teaches the test
set. A published release (SciIR-Bench) ships no reference images, so image
dedup cannot see it; texts are what both sides have.

Every text of a panel (its Sci-RCoT and abstract prompt from
``panel_annotations``, its sub-caption, its figure's caption) is embedded
with the bundled all-MiniLM-L6-v2 and matched, through Lance's
nearest-neighbour search, against the texts of every ``bench_samples`` row
(prompt, Sci-RCoT, abstract prompt) kept in ``bench_text_embeddings``. The
panel's closest benchmark text is stored in ``panel_contamination``; a cosine
at or above the threshold marks the panel ``contaminated`` and the training
split leaves it out. The default threshold is measured by
``benches/contamination_threshold.py`` (README, "Contamination").

A re-run reads the current table versions (recorded in its ``runs`` row),
embeds only benchmark texts that changed, and writes only rows that changed:
on an unchanged warehouse it commits no marks.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from schemas.tables import BENCH_TEXT_EMBEDDINGS, PANEL_CONTAMINATION, TEXT_EMBEDDING_DIM
from sciir_dist.sql import is_in
from sciir_dist.warehouse import Warehouse

#: cosine at or above which a panel text counts as a near-duplicate of a
#: benchmark text; benches/contamination_threshold.py prints the measurement
DEFAULT_THRESHOLD = 0.85
JOB = "bench-contamination"
INDEX_TABLE = "bench_text_embeddings"
MARKS_TABLE = "panel_contamination"
#: the benchmark sample's texts, in the order a text both fields share is named by
BENCH_FIELDS = ("prompt", "sci_rcot", "abstract_prompt")
#: the panel's texts, in the order a tie between them is decided
PANEL_FIELDS = ("sci_rcot", "abstract_prompt", "sub_caption", "caption")
#: nearest benchmark texts fetched per panel text: room to skip the samples built from that very panel
NEIGHBOURS = 4
ENCODE_BATCH = 256


@dataclass
class Check:
    """What one check found: the marks it stored, and the figures the CLI reports."""

    run_id: str
    threshold: float
    versions_read: dict[str, int | None]
    marks: pa.Table  # PANEL_CONTAMINATION rows, every panel with a text
    texts: dict[tuple[str, str], str]  # (panel_id, field) -> text, for the report
    bench: dict[str, dict]  # sample_id -> {mode, group, prompt, sci_rcot, abstract_prompt}
    rows_written: int
    by_group: list[dict]  # per mode x group: samples, samples_hit, panels_marked


def text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _snapshot(wh: Warehouse, table: str, columns: list[str]) -> tuple[pa.Table, int | None]:
    """The table's columns and the version they were read at (None: no table yet),
    so the version recorded is exactly the one read."""
    if not wh.exists(table):
        return wh.read(table, columns), None
    ds = wh.open(table)
    return ds.to_table(columns=columns), ds.version


def bench_texts(samples: pa.Table) -> list[dict]:
    """Each sample's distinct non-empty texts (an IF sample's prompt is its
    Sci-RCoT: embedded once, under ``prompt``)."""
    out = []
    for s in samples.to_pylist():
        seen: set[str] = set()
        for f in BENCH_FIELDS:
            text = (s.get(f) or "").strip()
            if text and text not in seen:
                seen.add(text)
                out.append({"embedding_id": f"{s['sample_id']}#{f}", "sample_id": s["sample_id"], "bench_field": f,
                            "text": text, "text_sha256": text_sha(text)})
    return out


def panel_texts(panels: pa.Table, figures: pa.Table, annotations: pa.Table) -> dict[tuple[str, str], str]:
    """(panel_id, field) -> non-empty text, for every panel."""
    captions = dict(zip(figures.column("figure_id").to_pylist(), figures.column("caption").to_pylist()))
    ann = {r["panel_id"]: r for r in annotations.to_pylist()}
    out = {}
    for p in panels.to_pylist():
        a = ann.get(p["panel_id"], {})
        texts = {"sci_rcot": a.get("sci_rcot"), "abstract_prompt": a.get("abstract_prompt"),
                 "sub_caption": p["sub_caption"], "caption": captions.get(p["figure_id"])}
        for f in PANEL_FIELDS:
            if texts[f] and texts[f].strip():
                out[(p["panel_id"], f)] = texts[f].strip()
    return out


def refresh_index(wh: Warehouse, wanted: list[dict], encode, model: str) -> int:
    """Make ``bench_text_embeddings`` hold exactly ``wanted``: embed texts
    that are new or changed (or were embedded by another model), drop rows of
    texts no longer in the benchmark. Returns the rows embedded."""
    from sciir_dist.vectors import ensure_index

    stored = wh.read(INDEX_TABLE, ["embedding_id", "text_sha256", "text_model"])
    have = {(r["embedding_id"], r["text_sha256"], r["text_model"]) for r in stored.to_pylist()}
    todo = [w for w in wanted if (w["embedding_id"], w["text_sha256"], model) not in have]
    if todo:
        vectors = encode([w["text"] for w in todo])
        rows = pa.table({
            "embedding_id": [w["embedding_id"] for w in todo], "sample_id": [w["sample_id"] for w in todo],
            "bench_field": [w["bench_field"] for w in todo], "text_sha256": [w["text_sha256"] for w in todo],
            "text_model": [model] * len(todo), "embedding": _vectors(vectors),
        }, schema=BENCH_TEXT_EMBEDDINGS)
        wh.upsert(INDEX_TABLE, rows)
    keep = {w["embedding_id"] for w in wanted}
    stale = [i for i in stored.column("embedding_id").to_pylist() if i not in keep]
    if stale:
        wh.open(INDEX_TABLE).delete(is_in("embedding_id", stale))
    ensure_index(wh, INDEX_TABLE, "embedding")
    return len(todo)


def closest(wh: Warehouse, vectors: np.ndarray, k: int = NEIGHBOURS) -> list[list[tuple[str, str, float]]]:
    """Per query vector, its k nearest benchmark texts as (sample_id,
    bench_field, cosine), best first: Lance's nearest-neighbour search over
    ``bench_text_embeddings`` (exact below the IVF_PQ size, see vectors.py)."""
    from sciir_dist.vectors import nearest

    ds = wh.open(INDEX_TABLE)

    def search(i: int) -> list[tuple[str, str, float]]:
        hits = nearest(wh, INDEX_TABLE, "embedding", vectors[i], k, columns=["sample_id", "bench_field"], ds=ds)
        return [(s, f, 1.0 - float(d)) for s, f, d in zip(hits.column("sample_id").to_pylist(),
                                                           hits.column("bench_field").to_pylist(),
                                                           hits.column("_distance").to_pylist())]

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(search, range(len(vectors)), chunksize=64))


def marks(texts: dict[tuple[str, str], str], found: dict[str, list[tuple[str, str, float]]],
          sources: dict[str, str], threshold: float, model: str) -> pa.Table:
    """One row per panel: its closest benchmark text over all its fields
    (ties: field order, then sample id), never a sample built from the panel
    itself (that one is out of training already, as the sample's source)."""
    best: dict[str, tuple] = {}
    for (pid, f), text in texts.items():
        for sample, bench_field, cos in found[text]:
            if sources.get(sample) == pid:
                continue
            rank = (-round(cos, 6), PANEL_FIELDS.index(f), sample)
            if pid not in best or rank < best[pid][0]:
                best[pid] = (rank, sample, f, bench_field, cos)
            break
    rows = [{"panel_id": pid, "contaminated": bool(np.float32(cos) >= np.float32(threshold)),  # compared as stored
             "contamination_sample_id": sample, "contamination_field": f, "contamination_bench_field": bf,
             "contamination_cosine": cos, "contamination_threshold": threshold, "contamination_model": model}
            for pid, (_, sample, f, bf, cos) in sorted(best.items())]
    return pa.Table.from_pylist(rows, schema=PANEL_CONTAMINATION)


def store(wh: Warehouse, new: pa.Table) -> int:
    """Upsert rows that differ from the stored ones (``new`` holds float32
    cosines, as stored) and delete rows of panels that have no text any more;
    returns rows written. Nothing differs, nothing is committed."""
    stored = {r["panel_id"]: r for r in wh.read(MARKS_TABLE).to_pylist()}
    changed = [r for r in new.to_pylist() if stored.get(r["panel_id"]) != r]
    if changed:
        wh.upsert(MARKS_TABLE, pa.Table.from_pylist(changed, schema=PANEL_CONTAMINATION))
    gone = sorted(set(stored) - set(new.column("panel_id").to_pylist()))
    if gone:
        wh.open(MARKS_TABLE).delete(is_in("panel_id", gone))
    return len(changed) + len(gone)


def check(wh: Warehouse, threshold: float = DEFAULT_THRESHOLD, progress: bool = True) -> Check:
    """Mark every panel whose closest benchmark text has cosine >= threshold;
    one ``runs`` row records the versions read and the counts."""
    from sciir_dist.backends import minilm
    from sciir_dist.progress import Summary
    from sciir_dist.runs import RunRecorder

    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"--threshold is a cosine in (0, 1], got {threshold}")
    samples, v_samples = _snapshot(wh, "bench_samples", ["sample_id", "mode", "group", "source", *BENCH_FIELDS])
    wanted = bench_texts(samples)
    if not wanted:
        raise ValueError(f"no benchmark prompts in {wh.root}: `sciir bench load PATH` (or `bench build`) first")
    panels, v_panels = _snapshot(wh, "panels", ["panel_id", "figure_id", "sub_caption"])
    if not panels.num_rows:
        raise ValueError(f"no panels in {wh.root}: `sciir ingest` first")
    figures, v_figures = _snapshot(wh, "figures", ["figure_id", "caption"])
    annotations, v_ann = _snapshot(wh, "panel_annotations", ["panel_id", "sci_rcot", "abstract_prompt"])
    read = {"bench_samples": v_samples, "panels": v_panels, "figures": v_figures, "panel_annotations": v_ann}
    run = RunRecorder(wh, JOB, "local", {"threshold": threshold, "text_model": minilm.NAME})
    summary = Summary(job=JOB, run_id=run.run_id)
    try:
        model = minilm.shared()
        encode = _encoder(model, progress)
        embedded = refresh_index(wh, wanted, encode, minilm.NAME)
        texts = panel_texts(panels, figures, annotations)
        unique = sorted(set(texts.values()))  # a caption shared by a figure's panels is searched once
        vectors = encode(unique) if unique else np.zeros((0, TEXT_EMBEDDING_DIM), np.float32)
        found = dict(zip(unique, closest(wh, vectors)))
        sources = {s["sample_id"]: s["source"] for s in samples.to_pylist() if s["source"]}
        table = marks(texts, found, sources, threshold, minilm.NAME)
        written = store(wh, table)
    except Exception as exc:
        run.finish(summary, read, wh.versions((INDEX_TABLE, MARKS_TABLE)), error=f"{type(exc).__name__}: {exc}")
        raise
    summary.rows_in = panels.num_rows
    summary.rows_out = {MARKS_TABLE: written, INDEX_TABLE: embedded}
    run.finish(summary, read, wh.versions((INDEX_TABLE, MARKS_TABLE)))
    bench = {s["sample_id"]: s for s in samples.to_pylist()}
    return Check(run.run_id, threshold, read, table, texts, bench, written, by_group(table, bench))


def by_group(table: pa.Table, bench: dict[str, dict]) -> list[dict]:
    """Marked panels and the distinct samples they hit, per benchmark mode x group."""
    out = {(s["mode"], s["group"]): {"mode": s["mode"], "group": s["group"], "samples": 0, "samples_hit": set(),
                                     "panels_marked": 0} for s in bench.values()}
    for s in bench.values():
        out[(s["mode"], s["group"])]["samples"] += 1
    for r in table.filter(table.column("contaminated")).to_pylist():
        s = bench[r["contamination_sample_id"]]
        g = out[(s["mode"], s["group"])]
        g["panels_marked"] += 1
        g["samples_hit"].add(r["contamination_sample_id"])
    return [{**g, "samples_hit": len(g["samples_hit"])} for _, g in sorted(out.items())]


def closest_pairs(result: Check, limit: int, width: int = 90) -> list[dict]:
    """The ``limit`` highest-cosine (panel, sample) pairs, marked or not, with both texts shortened."""
    rows = sorted(result.marks.to_pylist(), key=lambda r: (-r["contamination_cosine"], r["panel_id"]))[:limit]
    return [{"panel_id": r["panel_id"], "field": r["contamination_field"], "sample_id": r["contamination_sample_id"],
             "bench_field": r["contamination_bench_field"], "cosine": round(float(r["contamination_cosine"]), 4),
             "contaminated": r["contaminated"],
             "panel_text": shorten(result.texts[(r["panel_id"], r["contamination_field"])], width),
             "bench_text": shorten(result.bench[r["contamination_sample_id"]][r["contamination_bench_field"]], width)}
            for r in rows]


def shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _encoder(model, progress: bool):
    """Batches through MiniLM with a progress bar (long texts: minutes on a CPU)."""
    from sciir_dist.progress import progress_iter

    def encode(texts: list[str]) -> np.ndarray:
        starts = list(range(0, len(texts), ENCODE_BATCH))
        parts = [model.encode(texts[i:i + ENCODE_BATCH]) for i in progress_iter(starts, "embedding texts", progress)]
        return np.concatenate(parts) if parts else np.zeros((0, TEXT_EMBEDDING_DIM), np.float32)

    return encode


def _vectors(arr: np.ndarray) -> pa.FixedSizeListArray:
    flat = pa.array(np.ascontiguousarray(arr, dtype=np.float32).reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, TEXT_EMBEDDING_DIM)
