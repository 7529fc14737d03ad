"""`sciir export`: SFT data for the paper's two modules, from the training
split (SPEC §7), each row with license, DOI and attribution.

- ``planner/`` — reasoning planner (abstract prompt -> Sci-RCoT) as chat
  JSONL shards;
- ``generator/wds/`` — visual generator (Sci-RCoT -> image) as WebDataset
  tar shards (``<key>.png``, ``<key>.txt``, ``<key>.json``);
- ``generator/parquet/`` — the same pairs as Parquet with the image bytes;
- on request, the reference trainers' formats (``reference_formats``):
  ``diffsynth/`` (DiffSynth-Studio image dataset) and ``instruction/``
  (instruction/input/output JSONL).

Shard names are deterministic (``*-00000.*``), so a re-run into the same
output overwrites its shards and removes stale higher-numbered ones instead
of adding duplicates. Rows whose license is outside the allow-list are never
written (the split excludes them, and the writer checks again).
"""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from sciir_dist.train.reference_formats import REFERENCE_FORMATS, write_diffsynth, write_instruction_jsonl
from sciir_dist.train.split import DEFAULT_LICENSES, training_split
from sciir_dist.warehouse import Warehouse

PLANNER_SYSTEM = ("You plan scientific figures. Given an abstract description of a scientific image, write the "
                  "detailed drawing prompt (Sci-RCoT): the drawing style first, every visual element, and the text "
                  "to render, labeled as \"...\".")
FORMATS = ("jsonl", "webdataset", "parquet")


@dataclass(frozen=True)
class ExportSettings:
    out: str  # any fsspec URI
    shard_size: int = 1000
    formats: tuple[str, ...] = FORMATS
    licenses: tuple[str, ...] = DEFAULT_LICENSES
    storage_options: dict | None = None


def attribution(r: dict) -> str:
    fig = f"{r['figure_label']} of " if r.get("figure_label") else ""
    doi = f", doi:{r['doi']}" if r.get("doi") else ""
    return f"{fig}\"{r.get('article_title') or 'untitled'}\"{doi}, licensed {r['license']} ({r.get('license_url') or ''})"


def export(wh: Warehouse, s: ExportSettings) -> dict:
    import fsspec

    unknown = set(s.formats) - set(FORMATS) - set(REFERENCE_FORMATS)
    if unknown:
        raise ValueError(f"unknown export format(s) {sorted(unknown)}; choose from {FORMATS + REFERENCE_FORMATS}")
    split = training_split(wh, s.licenses)
    rows = [r for r in split.to_dict("records") if r["sci_rcot"] and r["abstract_prompt"] and r["license"] in s.licenses]
    fs, root = fsspec.core.url_to_fs(s.out, **(s.storage_options or {}))
    panels = wh.open("panels")
    index = {p: i for i, p in enumerate(panels.to_table(columns=["panel_id"]).column("panel_id").to_pylist())}
    shards = [rows[i:i + s.shard_size] for i in range(0, len(rows), s.shard_size)]
    written: dict[str, list[str]] = {"jsonl": [], "webdataset": [], "parquet": []}
    for n, shard in enumerate(shards):
        meta = [_meta(r) for r in shard]
        if "jsonl" in s.formats:
            path = f"{root}/planner/planner-{n:05d}.jsonl"
            lines = [json.dumps({"messages": [{"role": "system", "content": PLANNER_SYSTEM},
                                              {"role": "user", "content": r["abstract_prompt"]},
                                              {"role": "assistant", "content": r["sci_rcot"]}], **m}, ensure_ascii=False)
                     for r, m in zip(shard, meta)]
            _write(fs, path, ("\n".join(lines) + "\n").encode())
            written["jsonl"].append(path)
        if "webdataset" in s.formats or "parquet" in s.formats:
            images = [b.read() for b in panels.take_blobs("image", indices=[index[r["panel_id"]] for r in shard])]
        if "webdataset" in s.formats:
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as tar:
                for r, m, png in zip(shard, meta, images):
                    key = r["panel_id"].replace(".", "_")  # WebDataset keys end at the first dot
                    for ext, data in (("png", png), ("txt", r["sci_rcot"].encode()),
                                      ("json", json.dumps(m, ensure_ascii=False).encode())):
                        info = tarfile.TarInfo(f"{key}.{ext}")
                        info.size, info.mtime = len(data), 0
                        tar.addfile(info, io.BytesIO(data))
            path = f"{root}/generator/wds/shard-{n:05d}.tar"
            _write(fs, path, buf.getvalue())
            written["webdataset"].append(path)
        if "parquet" in s.formats:
            table = pa.Table.from_pylist([{**m, "prompt": r["sci_rcot"], "image": png}
                                          for r, m, png in zip(shard, meta, images)])
            buf = io.BytesIO()
            pq.write_table(table, buf)
            path = f"{root}/generator/parquet/part-{n:05d}.parquet"
            _write(fs, path, buf.getvalue())
            written["parquet"].append(path)
    written.update(_reference_formats(wh, s, fs, root, rows, panels, index))
    stale = _remove_stale(fs, root, len(shards))
    manifest = {"rows": len(rows), "shards": len(shards), "licenses": list(s.licenses),
                "skipped_without_annotation": int(len(split) - len(rows)), "removed_stale": stale,
                "files": {k: len(v) for k, v in written.items() if k in s.formats}}
    if set(s.formats) & set(REFERENCE_FORMATS):
        manifest["reference_files"] = {k: v for k, v in written.items() if k in REFERENCE_FORMATS}
    _write(fs, f"{root}/export.json", json.dumps(manifest, indent=1).encode())
    return manifest


def _meta(r: dict) -> dict:
    return {"panel_id": r["panel_id"], "license": r["license"], "license_url": r["license_url"], "doi": r["doi"],
            "attribution": attribution(r), "source_uri": r["source_uri"], "split": "heldout" if r["heldout"] else "train"}


def _reference_formats(wh: Warehouse, s: ExportSettings, fs, root: str, rows: list[dict], panels, index) -> dict:
    """The formats the reference's trainers read (whole files, not shards)."""
    out: dict[str, list[str]] = {}
    meta = [_meta(r) for r in rows]
    if "diffsynth" in s.formats:
        def images():  # read a shard's worth at a time, never the whole split
            for i in range(0, len(rows), s.shard_size):
                ids = [index[r["panel_id"]] for r in rows[i:i + s.shard_size]]
                yield from (b.read() for b in panels.take_blobs("image", indices=ids))

        out["diffsynth"] = write_diffsynth(fs, root, rows, meta, images(), _write)
    if "instruction-jsonl" in s.formats:
        out["instruction-jsonl"] = write_instruction_jsonl(fs, root, rows, meta, PLANNER_SYSTEM, _write)
    return out


def _write(fs, path: str, data: bytes) -> None:
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with fs.open(path, "wb") as f:
        f.write(data)


def _remove_stale(fs, root: str, shards: int) -> int:
    """Shards beyond this export's count, left by a bigger earlier one."""
    removed = 0
    for folder, stem in (("planner", "planner-"), ("generator/wds", "shard-"), ("generator/parquet", "part-")):
        try:
            names = fs.ls(f"{root}/{folder}", detail=False)
        except FileNotFoundError:
            continue
        for name in names:
            base = name.rsplit("/", 1)[-1]
            if base.startswith(stem) and base[len(stem):len(stem) + 5].isdigit() and int(base[len(stem):len(stem) + 5]) >= shards:
                fs.rm(name)
                removed += 1
    return removed
