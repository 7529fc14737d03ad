"""`sciir bench load`: import the published SciIR-Bench release
(``<mode dir>/<group>/{caption.json,checklist.json}``) into ``bench_samples``
and ``bench_questions``. Ids come from (mode, group, image_filename), so
loading twice replaces rows with identical ones (and commits nothing)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from schemas.tables import BENCH_QUESTIONS, BENCH_SAMPLES
from sciir_dist.bench.reference_checklist import parse_checklist, question_rows, reject_row, store_checklists
from sciir_dist.bench.samples import MODE_OF_DIR, PROMPT_MODE, sample_id
from sciir_dist.warehouse import Warehouse


#: the release spells these two fields in more than one way (one sample of 800 differs)
SCI_RCOT_KEYS = ("sci-RCoT", "sci_RCoT", "sci_rcot")
ABSTRACT_KEYS = ("science_abstract_prompt", "abstract_prompt")


class ReleaseError(ValueError):
    """The release folder does not have the published layout."""


def find_release() -> Path:
    """Where a downloaded release lives: ``SCIIR_BENCH_RELEASE``, else a
    ``shared/sciir-bench`` folder beside the checkout or one of its parents
    (the layout this project's tests and benches use)."""
    import os

    env = os.environ.get("SCIIR_BENCH_RELEASE")
    if env:
        return Path(env)
    for base in (Path.cwd(), Path(__file__).resolve()):
        for parent in [base, *base.parents]:
            candidate = parent / "shared" / "sciir-bench"
            if (candidate / "instruction_following").is_dir():
                return candidate
    raise ReleaseError("no SciIR-Bench release found: set SCIIR_BENCH_RELEASE to the folder "
                       "(<mode>/<group>/{caption,checklist}.json)")


def _field(cap: dict, keys: tuple[str, ...], sid: str) -> str:
    for k in keys:
        if cap.get(k):
            return cap[k]
    raise ReleaseError(f"{sid}: none of {keys} present")


def read_release(root: str | Path) -> tuple[pa.Table, pa.Table, list[dict]]:
    """(samples, questions, rejects): a sample whose checklist entry is not a
    checklist (the reference writes ``{"error", "raw"}`` when its model
    failed) is loaded without questions and gets a ``checklist_invalid`` row."""
    root = Path(root)
    samples, questions, rejects = [], [], []
    for mode_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        mode = MODE_OF_DIR.get(mode_dir.name)
        if mode is None:
            raise ReleaseError(f"{mode_dir}: unknown mode folder (expected {sorted(MODE_OF_DIR)})")
        for group_dir in sorted(p for p in mode_dir.iterdir() if p.is_dir()):
            captions = _json(group_dir / "caption.json")
            checklists = _json(group_dir / "checklist.json")
            if len(captions) != len(checklists):
                raise ReleaseError(f"{group_dir}: {len(captions)} captions but {len(checklists)} checklists")
            for cap, chk in zip(captions, checklists):
                if cap["image_filename"] != chk["image_path"]:
                    raise ReleaseError(f"{group_dir}: caption {cap['image_filename']} vs checklist {chk['image_path']}")
                if chk.get("used_prompt_mode") not in (None, PROMPT_MODE[mode]):
                    raise ReleaseError(f"{group_dir}/{cap['image_filename']}: prompt mode {chk['used_prompt_mode']}")
                sid = sample_id(mode, group_dir.name, cap["image_filename"])
                sci, abstract = _field(cap, SCI_RCOT_KEYS, sid), _field(cap, ABSTRACT_KEYS, sid)
                reasoning = cap.get("reasoning") or {}
                samples.append({
                    "sample_id": sid, "mode": mode, "group": group_dir.name,
                    "prompt": sci if mode == "IF" else abstract, "sci_rcot": sci, "abstract_prompt": abstract,
                    "reasoning": json.dumps(reasoning, ensure_ascii=False), "labels": cap.get("labels") or [],
                    "retained_text": cap.get("retained_text") or [], "rendered_text": None,
                    "term_count": sum(len(v.get("terms") or []) for v in reasoning.values() if v),
                    "image_filename": cap["image_filename"], "source": f"published:{sid}", "origin": "published",
                })
                parsed = parse_checklist(chk.get("generated_checklist"))
                if isinstance(parsed, str):
                    rejects.append(reject_row(sid, parsed, str(group_dir / "checklist.json")))
                else:
                    questions += question_rows(sid, parsed, "published")
    if not samples:
        raise ReleaseError(f"{root}: no samples found (expected <mode>/<group>/caption.json)")
    return (pa.Table.from_pylist(samples, schema=BENCH_SAMPLES), pa.Table.from_pylist(questions, schema=BENCH_QUESTIONS),
            rejects)


def load_release(wh: Warehouse, root: str | Path) -> dict[str, int]:
    samples, questions, rejects = read_release(root)
    store_checklists(wh, questions, rejects, samples.column("sample_id").to_pylist())
    wh.ensure("bench_samples")
    _replace_changed(wh, "bench_samples", samples)
    return {"samples": samples.num_rows, "questions": questions.num_rows, "checklist_invalid": len(rejects)}


def _replace_changed(wh: Warehouse, table: str, data: pa.Table) -> None:
    """Upsert only rows that differ from what is stored (a re-load commits nothing)."""
    from schemas.tables import key_of

    key = key_of(table)
    stored = wh.read(table)
    if stored.num_rows:
        have = {r[key]: r for r in stored.to_pylist()}
        changed = [r for r in data.to_pylist() if have.get(r[key]) != r]
        data = pa.Table.from_pylist(changed, schema=data.schema)
    if data.num_rows:
        wh.upsert(table, data)


def _json(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReleaseError(f"missing {path}") from None
    except ValueError as exc:
        raise ReleaseError(f"{path}: not JSON ({exc})") from None
