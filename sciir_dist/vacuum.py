"""`sciir warehouse vacuum`: give back the storage that dead files hold.

Two kinds pile up under a warehouse:

- **Old versions.** Every commit makes a Lance version, and each one keeps
  the data files it referenced (time travel, and readers pinned to a version:
  a curate stage reads its source table at one version for the whole run).
  Lance's ``cleanup_old_versions`` removes versions older than the retention
  and the files only they referenced.
- **Orphan data files.** Workers write data files (``write_fragments``)
  before the driver commits them; a run killed in between leaves files under
  ``<table>.lance/data/`` that no version references (with the blob files
  Lance writes beside a data file, in ``data/<its stem>/``). Lance leaves
  such "unverified" files alone for 7 days; here they go once older than a
  grace period. The grace period must exceed the longest time a running job
  holds written, uncommitted files (one checkpoint), so a job writing right
  now is never hurt.

Files are listed and removed through fsspec, so object stores work; versions
and the files they reference come from Lance.
"""

from __future__ import annotations

import posixpath
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import fsspec

from sciir_dist.warehouse import Warehouse

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(text: str) -> timedelta:
    """``30m``, ``1h``, ``7d``, ``2w`` (or ``0``) as a timedelta."""
    if text.strip() == "0":
        return timedelta(0)
    m = _DURATION.match(text.lower())
    if not m:
        raise ValueError(f"{text!r} is not a duration: use a number and a unit s, m, h, d or w (e.g. 7d, 1h)")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


@dataclass
class TableVacuum:
    """What vacuum removed (or, dry, would remove) from one table."""

    table: str
    old_versions: int = 0
    old_files: int = 0  # data files only the old versions referenced
    old_bytes: int = 0  # dry run: those data files; otherwise all files Lance removed with the versions
    orphans: list[str] = field(default_factory=list)  # paths under the table's data/ folder
    orphan_bytes: int = 0
    young_orphans: int = 0  # unreferenced files within the grace period: kept

    def as_dict(self) -> dict:
        return {"table": self.table, "old_versions": self.old_versions, "old_files": self.old_files,
                "old_bytes": self.old_bytes, "orphans": self.orphans, "orphan_bytes": self.orphan_bytes,
                "young_orphans": self.young_orphans}


def vacuum(wh: Warehouse, retention: timedelta, grace: timedelta, dry_run: bool = False,
           fs_options: dict | None = None) -> list[TableVacuum]:
    """Vacuum every table under the warehouse root. ``fs_options`` are
    fsspec's options for the root (Lance's are the warehouse's own)."""
    fs, root = fsspec.core.url_to_fs(wh.root, **(fs_options or {}))
    return [vacuum_table(wh, t, fs, root, retention, grace, dry_run) for t in tables(fs, root)]


def tables(fs: fsspec.AbstractFileSystem, root: str) -> list[str]:
    """Names of the Lance tables (``<name>.lance`` folders) under ``root``."""
    if not fs.exists(root):
        return []
    return sorted(posixpath.basename(e["name"].rstrip("/"))[: -len(".lance")] for e in fs.ls(root, detail=True)
                  if e["type"] == "directory" and e["name"].rstrip("/").endswith(".lance"))


def vacuum_table(wh: Warehouse, table: str, fs: fsspec.AbstractFileSystem, root: str, retention: timedelta,
                 grace: timedelta, dry_run: bool) -> TableVacuum:
    """Old versions first (Lance), then orphans. Files are listed before the
    versions are read: a commit landing in between protects its files, and a
    file written after the listing is not looked at."""
    out = TableVacuum(table)
    ds = wh.open(table)
    if not dry_run:
        stats = ds.cleanup_old_versions(older_than=retention, error_if_tagged_old_versions=False)
        out.old_versions, out.old_files, out.old_bytes = stats.old_versions, stats.data_files_removed, stats.bytes_removed
    folder = f"{root}/{table}.lance/data"
    files = data_files(fs, folder)
    versions = wh.open(table).versions()
    if dry_run:
        retained = _retained(versions, ds.tags.list(), datetime.now() - retention)
    else:
        retained = [v["version"] for v in versions]
    live = referenced(wh, table, retained)
    if dry_run:
        # cleanup_old_versions would take these, whatever their age
        old = referenced(wh, table, [v["version"] for v in versions if v["version"] not in retained]) - live
        gone = [n for n in files if _read_by(n, old)]
        out.old_versions = len(versions) - len(retained)
        out.old_files, out.old_bytes = len(gone), sum(files[n][0] for n in gone)
        live |= old
    cutoff = time.time() - grace.total_seconds()
    unreferenced = sorted(n for n in files if not _read_by(n, live))
    out.orphans = [n for n in unreferenced if files[n][1] is not None and files[n][1] <= cutoff]
    out.young_orphans = len(unreferenced) - len(out.orphans)
    out.orphan_bytes = sum(files[n][0] for n in out.orphans)
    if out.orphans and not dry_run:
        fs.rm([f"{folder}/{n}" for n in out.orphans])
        _drop_empty_folders(fs, folder, out.orphans)
    return out


def _drop_empty_folders(fs: fsspec.AbstractFileSystem, folder: str, removed: list[str]) -> None:
    """Blob folders whose files all went (an object store has no folders)."""
    for head in sorted({n.partition("/")[0] for n in removed if "/" in n}):
        path = f"{folder}/{head}"
        if fs.isdir(path) and not fs.ls(path):
            fs.rmdir(path)


def _retained(versions: list[dict], tags: dict, cutoff: datetime) -> list[int]:
    """The versions ``cleanup_old_versions(older_than=...)`` keeps: the
    newest, tagged ones, and those not older than ``cutoff`` (Lance reports
    version times as naive local datetimes, like ``cutoff``)."""
    newest = max(v["version"] for v in versions)
    tagged = {t["version"] for t in tags.values()}
    return [v["version"] for v in versions if v["version"] in tagged | {newest} or v["timestamp"] >= cutoff]


def _read_by(name: str, data_files: set[str]) -> bool:
    """Whether a file under ``data/`` belongs to one of ``data_files``: it is
    one, or it lies in the folder named after one (``<stem>/<n>.blob``: Lance
    writes large blobs beside their data file)."""
    head, nested, _ = name.partition("/")
    return name in data_files or (bool(nested) and f"{head}.lance" in data_files)


def referenced(wh: Warehouse, table: str, versions: list[int]) -> set[str]:
    """Data files (paths relative to ``data/``) that any of ``versions``
    reads. Files in another base (shallow clones) are not ours to judge."""
    return {f.path for v in versions for frag in wh.open(table, version=v).get_fragments()
            for f in frag.data_files() if f.base_id is None}


def data_files(fs: fsspec.AbstractFileSystem, folder: str) -> dict[str, tuple[int, float | None]]:
    """Files under ``folder`` by path relative to it: (size, modified as a
    POSIX time, or None when the store does not say)."""
    if not fs.exists(folder):
        return {}
    prefix = folder.rstrip("/") + "/"
    found = fs.find(folder, detail=True, withdirs=False)
    return {name[len(prefix):]: (int(info.get("size") or 0), _modified(info))
            for name, info in found.items() if name.startswith(prefix)}


def _modified(info: dict) -> float | None:
    """Modification time from an fsspec ``info`` dict: local files have
    ``mtime``, S3 ``LastModified``, Azure ``last_modified``, GCS ``updated``."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None
