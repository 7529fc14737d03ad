"""Flat per-run folders of generated images, as the reference's
``evaluation.py`` reads them: one folder per (mode, group) run holding
``<image_filename>`` files (``IMAGE_FOLDER/001.png``). File names repeat
across runs (every group has a ``001.png``), so a folder only means
something together with its mode and group, which these helpers keep.

A mapping file names several runs at once: CSV with a header
``folder,mode,group`` (or a JSON list of such objects); a relative folder
is relative to ``root`` when one is given, else to the mapping file's folder. Modes may be written IF/IR,
cot/abstract or instruction_following/intrinsic_reasoning.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath

from sciir_dist.bench.samples import GROUPS, parse_mode
from sciir_dist.sql import eq

Runs = dict[tuple[str, str], str]  # (mode, group) -> folder URI


def _add(runs: Runs, model: str, folder: str, mode: str, group: str) -> None:
    m = parse_mode(mode)
    if group not in GROUPS:
        raise ValueError(f"model {model}: unknown group {group!r} (one of {list(GROUPS)})")
    if (m, group) in runs and runs[(m, group)] != folder:
        raise ValueError(f"model {model}: two folders for {m} {group}: {runs[(m, group)]} and {folder}")
    runs[(m, group)] = str(folder).rstrip("/")


def read_mapping(uri: str, storage_options: dict | None = None, base: str | None = None) -> list[dict]:
    """Rows {folder, mode, group} of a mapping file (CSV or JSON), relative
    folders joined to ``base`` (default: the file's folder)."""
    import fsspec

    with fsspec.open(uri, "rb", **(storage_options or {})) as f:
        text = f.read().decode("utf-8")
    rows = json.loads(text) if uri.lower().endswith(".json") else list(csv.DictReader(io.StringIO(text)))
    if not isinstance(rows, list):
        raise ValueError(f"mapping {uri}: expected a list of {{folder, mode, group}}")
    base = (base or posixpath.dirname(uri)).rstrip("/")
    out = []
    for i, r in enumerate(rows):
        if not isinstance(r, dict) or not all(isinstance(r.get(k), str) and r[k].strip() for k in ("folder", "mode", "group")):
            raise ValueError(f"mapping {uri}: row {i + 1} needs folder, mode and group, got {r}")
        folder = r["folder"].strip()
        absolute = "://" in folder or folder.startswith("/")
        out.append({"folder": folder if absolute else posixpath.join(base, folder),
                    "mode": r["mode"].strip(), "group": r["group"].strip()})
    return out


def runs_of(model: str, options: dict, storage_options: dict | None = None) -> Runs:
    """The runs a flat folder import names: ``root`` + ``mode`` + ``group``,
    ``runs`` (a list of {folder, mode, group}) and/or a ``mapping`` file."""
    runs: Runs = {}
    if options.get("mode") or options.get("group") or not (options.get("runs") or options.get("mapping")):
        if not (options.get("root") and options.get("mode") and options.get("group")):
            raise ValueError(f"model {model}: a flat folder needs root, mode and group together (or runs, or a mapping file)")
        _add(runs, model, options["root"], options["mode"], options["group"])
    for r in options.get("runs") or []:
        _add(runs, model, r["folder"], r["mode"], r["group"])
    if options.get("mapping"):
        for r in read_mapping(str(options["mapping"]), storage_options, options.get("root")):
            _add(runs, model, r["folder"], r["mode"], r["group"])
    if not runs:
        raise ValueError(f"model {model}: layout flat needs root with mode and group, runs, or a mapping file")
    return runs


def runs_filter(runs: Runs) -> str:
    """SQL on bench_samples selecting the samples of these runs."""
    return " OR ".join(f"({eq('mode', m)} AND {eq('`group`', g)})" for m, g in sorted(runs))
