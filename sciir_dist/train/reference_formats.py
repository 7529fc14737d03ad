"""Exports in the formats the SciIR reference's trainers read, so its
training scripts run on this project's data unchanged:

- ``diffsynth`` — the visual generator (Sci-RCoT -> image), as a
  DiffSynth-Studio image dataset (what its ``UnifiedDataset`` loads from
  ``--dataset_base_path``/``--dataset_metadata_path``): ``diffsynth/images/
  <panel_id>.png`` and ``diffsynth/metadata.csv`` + ``metadata.json`` with
  ``image`` (relative to the ``diffsynth`` folder) and ``prompt`` (the
  Sci-RCoT), plus license and attribution columns the loader ignores.
  Held-out rows go to ``heldout.csv``/``heldout.json`` beside them, so
  training on ``metadata.*`` never sees them;
- ``instruction-jsonl`` — the reasoning planner (abstract prompt ->
  Sci-RCoT), one ``{"instruction", "input", "output"}`` object per line
  (the Alpaca format LLaMA-Factory and ms-swift read, and the fields the
  reference's planner SFT script uses), ``instruction/planner-train.jsonl``
  and ``planner-heldout.jsonl``, with a LLaMA-Factory ``dataset_info.json``
  naming both.

Both are rewritten whole on every export: stale images of rows no longer in
the split are removed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

REFERENCE_FORMATS = ("diffsynth", "instruction-jsonl")
#: the attribution columns every exported row keeps
META_COLUMNS = ("panel_id", "license", "license_url", "doi", "attribution", "source_uri")


def diffsynth_rows(rows: list[dict], meta: list[dict]) -> list[dict]:
    """Metadata rows: ``image`` relative to the dataset folder, ``prompt``, then attribution."""
    return [{"image": f"images/{r['panel_id']}.png", "prompt": r["sci_rcot"],
             **{k: m[k] for k in META_COLUMNS}} for r, m in zip(rows, meta)]


def instruction_rows(rows: list[dict], meta: list[dict], instruction: str) -> list[dict]:
    return [{"instruction": instruction, "input": r["abstract_prompt"], "output": r["sci_rcot"],
             **{k: m[k] for k in META_COLUMNS}} for r, m in zip(rows, meta)]


def to_csv(rows: list[dict], columns: list[str]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def to_jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def write_diffsynth(fs, root: str, rows: list[dict], meta: list[dict], images: Iterable[bytes], write) -> list[str]:
    """The DiffSynth-Studio dataset folder (``images`` in row order, read
    lazily); returns the metadata files written."""
    folder = f"{root}/diffsynth"
    table = diffsynth_rows(rows, meta)
    for t, png in zip(table, images):
        write(fs, f"{folder}/{t['image']}", png)
    columns = ["image", "prompt", *META_COLUMNS]
    split = [m["split"] for m in meta]
    files = []
    for stem, which in (("metadata", "train"), ("heldout", "heldout")):
        part = [t for t, s in zip(table, split) if s == which]
        write(fs, f"{folder}/{stem}.csv", to_csv(part, columns))
        write(fs, f"{folder}/{stem}.json", json.dumps(part, ensure_ascii=False, indent=1).encode("utf-8"))
        files += [f"{folder}/{stem}.csv", f"{folder}/{stem}.json"]
    keep = {f"{folder}/{t['image']}" for t in table}
    try:
        present = fs.ls(f"{folder}/images", detail=False)
    except FileNotFoundError:
        present = []
    for name in present:
        if name not in keep and name.endswith(".png"):
            fs.rm(name)
    return files


def write_instruction_jsonl(fs, root: str, rows: list[dict], meta: list[dict], instruction: str, write) -> list[str]:
    """Alpaca-format planner SFT files and a LLaMA-Factory dataset_info.json; returns the files written."""
    folder = f"{root}/instruction"
    table = instruction_rows(rows, meta, instruction)
    files = []
    for which in ("train", "heldout"):
        path = f"{folder}/planner-{which}.jsonl"
        write(fs, path, to_jsonl([t for t, m in zip(table, meta) if m["split"] == which]))
        files.append(path)
    info = {f"sciir_planner_{w}": {"file_name": f"planner-{w}.jsonl",
                                   "columns": {"prompt": "instruction", "query": "input", "response": "output"}}
            for w in ("train", "heldout")}
    write(fs, f"{folder}/dataset_info.json", json.dumps(info, indent=1).encode("utf-8"))
    return files + [f"{folder}/dataset_info.json"]
