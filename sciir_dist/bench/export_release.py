"""`sciir bench export`: a benchmark (built or loaded) in the published
SciIR-Bench layout, ``<mode dir>/<group>/{caption.json,checklist.json}``,
so the reference's scripts (and `sciir bench load`) read it unchanged.

- ``caption.json``: one entry per sample, sorted by ``image_filename``:
  ``image_filename``, ``labels``, ``reasoning`` ({Track: {terms,
  visualization} | null}), ``retained_text``, ``sci-RCoT``,
  ``science_abstract_prompt`` (the release's keys, in its order);
- ``checklist.json``: the same order, ``image_path`` (= image_filename),
  ``used_prompt_mode`` (cot for IF, abstract for IR), ``core_tracks`` (the
  tracks with reasoning, in the reference's ScientificLaw, EntityStructure,
  ScientificProcess order) and ``generated_checklist.checklist`` =
  [{question, category}] in question order.

JSON is written as the release is (UTF-8, ``indent=2``, non-ASCII kept). A
sample without questions has no checklist to publish and is left out (and
counted), since the layout pairs every caption with a checklist.
"""

from __future__ import annotations

import json
from collections import defaultdict

from sciir_dist.bench.samples import MODE_DIRS, PROMPT_MODE
from sciir_dist.warehouse import Warehouse

#: the reference's track order (selectbenchmark.py VALID_LABELS), as in the release's core_tracks
CORE_TRACK_ORDER = ("ScientificLaw", "EntityStructure", "ScientificProcess")


def caption_entry(s: dict) -> dict:
    return {"image_filename": s["image_filename"], "labels": list(s["labels"] or []),
            "reasoning": json.loads(s["reasoning"] or "{}"), "retained_text": list(s["retained_text"] or []),
            "sci-RCoT": s["sci_rcot"], "science_abstract_prompt": s["abstract_prompt"]}


def checklist_entry(s: dict, questions: list[dict]) -> dict:
    reasoning = json.loads(s["reasoning"] or "{}")
    return {"image_path": s["image_filename"], "used_prompt_mode": PROMPT_MODE[s["mode"]],
            "core_tracks": [t for t in CORE_TRACK_ORDER if reasoning.get(t) is not None],
            "generated_checklist": {"checklist": [{"question": q["question"], "category": q["category"]}
                                                  for q in sorted(questions, key=lambda q: q["idx"])]}}


def export_release(wh: Warehouse, out: str, storage_options: dict | None = None, where: str | None = None) -> dict:
    import fsspec

    if not wh.exists("bench_samples") or not wh.count("bench_samples"):
        raise ValueError(f"no bench_samples in {wh.root}: run `sciir bench load` or `sciir bench build` first")
    samples = wh.read("bench_samples", where=where).to_pylist()
    by_sample: dict[str, list[dict]] = defaultdict(list)
    for q in wh.read("bench_questions", ["sample_id", "idx", "category", "question"]).to_pylist():
        by_sample[q["sample_id"]].append(q)
    folders: dict[tuple[str, str], list[dict]] = defaultdict(list)
    skipped = []
    for s in samples:
        if by_sample.get(s["sample_id"]):
            folders[(s["mode"], s["group"])].append(s)
        else:
            skipped.append(s["sample_id"])
    fs, root = fsspec.core.url_to_fs(out, **(storage_options or {}))
    written = {}
    for (mode, group), rows in sorted(folders.items()):
        rows.sort(key=lambda s: s["image_filename"])
        folder = f"{root}/{MODE_DIRS[mode]}/{group}"
        fs.makedirs(folder, exist_ok=True)
        for name, entries in (("caption.json", [caption_entry(s) for s in rows]),
                              ("checklist.json", [checklist_entry(s, by_sample[s["sample_id"]]) for s in rows])):
            with fs.open(f"{folder}/{name}", "wb") as f:
                f.write(json.dumps(entries, indent=2, ensure_ascii=False).encode("utf-8"))
        written[f"{MODE_DIRS[mode]}/{group}"] = len(rows)
    return {"samples": sum(written.values()), "questions": sum(len(by_sample[s["sample_id"]]) for r in folders.values()
                                                               for s in r),
            "folders": written, "skipped_without_checklist": len(skipped)}
