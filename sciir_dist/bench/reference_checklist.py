"""Checklists in the reference's format (MAIR-Lab-HUST/SciIR
``checklist.py``): a JSON list, one entry per sample::

    {"image_path": "001.png", "used_prompt_mode": "cot" | "abstract",
     "core_tracks": [...], "generated_checklist": {"checklist": [{"question", "category"}]}}

The reference script keeps going when its model fails, so
``generated_checklist`` can also be ``null`` (the API call failed) or
``{"error": "Invalid JSON returned", "raw": "<the model's text>"}``. Such an
entry, or one whose questions are malformed, is not a checklist: it becomes
a ``checklist_invalid`` rejects row (stage ``checklist``, so `sciir bench
checklist --retry-rejects` can write a new one) and never a crash or a
partial checklist. The published release's ``checklist.json`` files are the
same format, so `bench load` and `bench import-checklist` share this parser.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from schemas.tables import BENCH_QUESTIONS, CATEGORIES, REJECTS
from sciir_dist.bench.samples import question_id, sample_id
from sciir_dist.ingest.model import reject_id_for
from sciir_dist.sql import eq, is_in
from sciir_dist.warehouse import Warehouse, write_fragments

#: the stage name the checklist writer uses: its rejects and these are one queue
STAGE = "checklist"
REASON = "checklist_invalid"


def parse_checklist(generated) -> list[dict] | str:
    """The questions [{question, category}] of a ``generated_checklist``
    value, or a sentence saying why it is not a usable checklist."""
    if generated is None:
        return "generated_checklist is null: the reference's checklist model returned nothing"
    if isinstance(generated, dict) and "error" in generated:
        raw = generated.get("raw")
        shown = (raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False))[:300] if raw is not None else ""
        return f"the reference's checklist model failed: {generated['error']}" + (f"; raw: {shown!r}" if shown else "")
    if not isinstance(generated, dict) or not isinstance(generated.get("checklist"), list):
        kind = type(generated).__name__
        keys = sorted(generated)[:6] if isinstance(generated, dict) else []
        return f"expected {{'checklist': [...]}}, got a {kind}" + (f" with keys {keys}" if keys else "")
    items = generated["checklist"]
    if not items:
        return "the checklist has no questions"
    out = []
    for i, q in enumerate(items):
        if not isinstance(q, dict) or not isinstance(q.get("question"), str) or not q["question"].strip():
            return f"question {i} has no 'question' text: {json.dumps(q, ensure_ascii=False)[:200]}"
        if q.get("category") not in CATEGORIES:
            return f"question {i}: unknown category {q.get('category')!r} (expected one of {list(CATEGORIES)})"
        out.append({"question": q["question"], "category": q["category"]})
    return out


def question_rows(sid: str, items: list[dict], source: str, model: str | None = None) -> list[dict]:
    return [{"question_id": question_id(sid, i), "sample_id": sid, "idx": i, "category": q["category"],
             "question": q["question"], "negative": None, "checklist_source": source, "checklist_model": model,
             "checklist_prompt_version": None} for i, q in enumerate(items)]


def reject_row(sid: str, detail: str, source_uri: str) -> dict:
    return {"reject_id": reject_id_for(STAGE, sid, ""), "item": sid, "stage": STAGE, "reason": REASON,
            "detail": detail, "article_id": None, "source_uri": source_uri}


def store_checklists(wh: Warehouse, questions: pa.Table, rejects: list[dict], samples: list[str]) -> None:
    """Replace the questions of ``samples`` with ``questions`` (a sample whose
    checklist is now invalid or shorter loses its old questions) and their
    checklist rejects with ``rejects`` (a sample that now has a valid one
    loses its old reject). Rows equal to the stored ones are not rewritten."""
    wh.ensure("bench_questions")
    stored = wh.read("bench_questions", where=is_in("sample_id", samples)) if samples else \
        BENCH_QUESTIONS.empty_table()
    new_ids = set(questions.column("question_id").to_pylist())
    stale = [q for q in stored.column("question_id").to_pylist() if q not in new_ids]
    have = {r["question_id"]: r for r in stored.to_pylist()}
    changed = [r for r in questions.to_pylist() if have.get(r["question_id"]) != r]
    if changed or stale:
        data = pa.Table.from_pylist(changed, schema=BENCH_QUESTIONS)
        frags = write_fragments(wh, "bench_questions", data) if changed else []
        wh.commit_upsert("bench_questions", frags,
                         replace_keys={"question_id": [r["question_id"] for r in changed] + stale})
    wh.ensure("rejects")
    ids = [reject_id_for(STAGE, s, "") for s in samples]
    existing = wh.read("rejects", ["reject_id"], where=is_in("reject_id", ids)).column("reject_id").to_pylist() \
        if ids else []
    if rejects or existing:
        frags = write_fragments(wh, "rejects", pa.Table.from_pylist(rejects, schema=REJECTS)) if rejects else []
        wh.commit_upsert("rejects", frags, replace_keys={"reject_id": existing + [r["reject_id"] for r in rejects]})


def import_checklists(wh: Warehouse, path: str | Path, mode: str, group: str) -> dict[str, int]:
    """`sciir bench import-checklist`: the reference's raw checklist output
    for one (mode, group) run, as the questions of the benchmark's samples
    (matched by ``image_path`` = ``image_filename``). Entries for samples the
    benchmark does not have, or with another prompt mode, are rejects too."""
    from sciir_dist.bench.samples import PROMPT_MODE

    path = Path(path)
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected the reference's list of checklist entries, got a {type(entries).__name__}")
    if not wh.exists("bench_samples"):
        raise ValueError(f"no bench_samples in {wh.root}: load or build the benchmark first")
    known = set(wh.read("bench_samples", ["sample_id"], where=f"{eq('mode', mode)} AND {eq('`group`', group)}")
                .column("sample_id").to_pylist())
    if not known:
        raise ValueError(f"the benchmark has no {mode} samples in group {group}")
    rows, rejects, seen = [], [], []
    for i, e in enumerate(entries):
        name = e.get("image_path") if isinstance(e, dict) else None
        if not isinstance(name, str) or not name:
            raise ValueError(f"{path}: entry {i} has no image_path (is this a reference checklist file?)")
        sid = sample_id(mode, group, Path(name.replace("\\", "/")).name)
        if sid not in known:
            rejects.append(reject_row(sid, f"entry {i}: the benchmark has no sample {sid}", str(path)))
            continue
        if sid in seen:
            raise ValueError(f"{path}: {name} appears twice")
        seen.append(sid)
        if e.get("used_prompt_mode") not in (None, PROMPT_MODE[mode]):
            rejects.append(reject_row(sid, f"used_prompt_mode {e['used_prompt_mode']!r}, but {mode} samples use "
                                           f"{PROMPT_MODE[mode]!r}", str(path)))
            continue
        parsed = parse_checklist(e.get("generated_checklist"))
        if isinstance(parsed, str):
            rejects.append(reject_row(sid, parsed, str(path)))
        else:
            rows += question_rows(sid, parsed, "reference")
    store_checklists(wh, pa.Table.from_pylist(rows, schema=BENCH_QUESTIONS),
                     [r for r in rejects if r["item"] in known], seen)
    outside = [r for r in rejects if r["item"] not in known]
    if outside:
        wh.upsert("rejects", pa.Table.from_pylist(outside, schema=REJECTS))
    return {"samples": len({r["sample_id"] for r in rows}), "questions": len(rows), "rejected": len(rejects)}
