"""`sciir warehouse vacuum`: orphan data files (written, never committed, as
a killed run leaves them) go once older than the grace period, old versions
once older than the retention; every file the current version reads stays,
and --dry-run removes nothing."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from sciir_dist.cli import app
from sciir_dist.sql import eq
from sciir_dist.vacuum import parse_duration, vacuum
from sciir_dist.warehouse import Warehouse, write_fragments

WEEK, HOUR = timedelta(days=7), timedelta(hours=1)


def _rows(uris: list[str], fingerprint: str) -> pa.Table:
    return pa.table({"source_uri": uris, "source_fingerprint": [fingerprint] * len(uris)})


def _figures(ids: list[str]) -> pa.Table:
    """Images big enough for Lance to store them beside the data file
    (``data/<stem>/<n>.blob``)."""
    return pa.table({"figure_id": ids, "article_id": ["a"] * len(ids),
                     "image": pa.array([os.urandom(200_000) for _ in ids], pa.large_binary())})


def _data(wh: Warehouse, table: str) -> set[str]:
    folder = Path(wh.uri(table)) / "data"
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def _age(wh: Warehouse, table: str, names: set[str], seconds: float) -> None:
    then = time.time() - seconds
    for name in names:
        os.utime(Path(wh.uri(table)) / "data" / name, (then, then))


def _orphans(wh: Warehouse, table: str, n: int) -> set[str]:
    """Files of ``n`` fragments written and never committed (a run killed
    between its writes and its commit)."""
    before = _data(wh, table)
    for i in range(n):
        write_fragments(wh, table, _figures([f"killed-{i}"]) if table == "figures" else _rows([f"killed-{i}"], "x"))
    return _data(wh, table) - before


@pytest.fixture
def wh(tmp_path) -> Warehouse:
    """`sources` with three upserts, the first one's only fragment replaced
    entirely by the third (its file is then read by old versions only),
    `runs` with one row, and `figures` with two images in blob files."""
    wh = Warehouse(str(tmp_path / "wh"))
    wh.upsert("sources", _rows(["a", "b"], "1"))
    wh.upsert("sources", _rows(["c"], "1"))
    wh.upsert("sources", _rows(["a", "b"], "2"))
    wh.upsert("runs", pa.table({"run_id": ["r1"], "job": ["ingest"]}))
    wh.upsert("figures", _figures(["f1", "f2"]))
    return wh


def _snapshot(wh: Warehouse) -> dict:
    tables = {t: wh.read(t).sort_by(k).to_pylist()
              for t, k in (("sources", "source_uri"), ("runs", "run_id"), ("figures", "figure_id"))}
    return tables | {"images": [wh.read_blob("figures", "image", eq("figure_id", f)) for f in ("f1", "f2")]}


def _by_table(report) -> dict:
    return {r.table: r for r in report}


@pytest.mark.parametrize("table", ["sources", "figures"])  # figures: images in blob files beside the data files
def test_orphans_go_after_the_grace_period_and_live_files_stay(wh, table):
    before, live = _snapshot(wh), _data(wh, table)
    orphans = _orphans(wh, table, 2)
    assert len(orphans) == (2 if table == "sources" else 4)

    young = _by_table(vacuum(wh, WEEK, HOUR))[table]  # a job may be about to commit them
    assert young.orphans == [] and young.young_orphans == len(orphans)
    assert _data(wh, table) == live | orphans

    _age(wh, table, live | orphans, 2 * 3600)  # everything is old now, the live files too
    fresh = _orphans(wh, table, 1)  # a job writing right now
    done = _by_table(vacuum(wh, WEEK, HOUR))[table]
    assert set(done.orphans) == orphans and done.young_orphans == len(fresh)
    assert done.orphan_bytes > 0 and done.old_versions == 0
    assert _data(wh, table) == live | fresh
    assert not [d for d in (Path(wh.uri(table)) / "data").iterdir() if d.is_dir() and not any(d.iterdir())]
    assert _snapshot(wh) == before
    assert _by_table(vacuum(wh, WEEK, HOUR))[table].orphans == []  # nothing left to do


def test_dry_run_removes_nothing(wh):
    orphans = _orphans(wh, "sources", 1)
    files = {t: _data(wh, t) for t in ("sources", "runs", "figures")}
    versions = len(wh.open("sources").versions())
    report = _by_table(vacuum(wh, timedelta(0), timedelta(0), dry_run=True))
    assert set(report) == {"sources", "runs", "figures"}
    assert set(report["sources"].orphans) == orphans
    assert report["sources"].old_versions == versions - 1
    assert report["sources"].old_files == 1  # the first fragment, replaced entirely by the third upsert
    assert (report["runs"].old_versions, report["runs"].old_files, report["runs"].orphans) == (1, 0, [])
    assert {t: _data(wh, t) for t in ("sources", "runs", "figures")} == files
    assert len(wh.open("sources").versions()) == versions


def test_old_versions_go_after_the_retention(wh):
    before, versions = _snapshot(wh), len(wh.open("sources").versions())
    dry = _by_table(vacuum(wh, timedelta(0), HOUR, dry_run=True))["sources"]
    done = _by_table(vacuum(wh, timedelta(0), HOUR))["sources"]
    assert (done.old_versions, done.old_files) == (dry.old_versions, dry.old_files) == (versions - 1, 1)
    assert [v["version"] for v in wh.open("sources").versions()] == [wh.version("sources")]
    assert _snapshot(wh) == before
    assert _by_table(vacuum(wh, WEEK, HOUR))["sources"].old_versions == 0


def test_cli(wh):
    orphans = _orphans(wh, "sources", 1)
    _age(wh, "sources", orphans, 2 * 3600)
    runner = CliRunner()
    dry = runner.invoke(app, ["warehouse", "vacuum", "--data", wh.root, "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.output)
    assert report["dry_run"] and next(t for t in report["tables"] if t["table"] == "sources")["orphans"] == sorted(orphans)
    assert orphans <= _data(wh, "sources")
    done = runner.invoke(app, ["warehouse", "vacuum", "--data", wh.root, "--orphans-older-than", "30m"])
    assert done.exit_code == 0, done.output
    assert "removed: sources.lance/data/" + next(iter(orphans)) in done.output
    assert not orphans & _data(wh, "sources")
    bad = runner.invoke(app, ["warehouse", "vacuum", "--data", wh.root, "--retention", "a week"])
    assert bad.exit_code != 0


def test_parse_duration():
    assert parse_duration("7d") == WEEK and parse_duration("1h") == HOUR and parse_duration("0") == timedelta(0)
    assert parse_duration("90s") == timedelta(seconds=90) and parse_duration("2w") == 2 * WEEK
    with pytest.raises(ValueError):
        parse_duration("7 days")
