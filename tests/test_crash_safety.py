"""SIGKILL an ingest partway (mid-processing, and between table commits),
re-run it, and compare with an uninterrupted run: complete tables, unique
ids, nothing duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc
import pytest

from schemas.tables import key_of
from sciir_dist.ingest.run import run_ingest
from sciir_dist.warehouse import Warehouse
from tests.test_ingest import DATA_TABLES, snapshot


def _versions(table_dir: Path) -> int:
    d = table_dir / "_versions"
    return len(list(d.glob("*.manifest"))) if d.exists() else 0


def _start(corpus: Path, data: Path, engine: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sciir_dist.cli", "ingest", "--input", str(corpus), "--data", str(data),
         "--engine", engine, "--no-progress", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its Spark JVM/workers
    proc.wait(30)


@pytest.mark.parametrize("engine,when", [("spark", "between-commits"), ("local", "mid-processing")])
def test_kill_and_rerun(engine, when, corpus, spark_warehouse, local_engine, tmp_path):
    data = tmp_path / "wh"
    proc = _start(corpus, data, engine)
    deadline = time.monotonic() + 240
    if when == "between-commits":
        # version 1 is the empty table; 2 is this run's first commit (rejects).
        # Kill right then, before panels/figures/articles/sources are committed.
        while _versions(data / "rejects.lance") < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.002)
    else:
        while not (data / "runs.lance").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.0)
    assert proc.poll() is None, "the run finished before it could be killed"
    _kill(proc)
    wh = Warehouse(str(data))
    if when == "between-commits":
        assert wh.count("rejects") > 0 and wh.count("sources") == 0  # a genuinely partial state
    run_ingest([str(corpus)], wh, local_engine)
    for t in DATA_TABLES:
        keys = wh.read(t, [key_of(t)]).column(key_of(t))
        assert pc.count_distinct(keys).as_py() == len(keys), t
    reference, _ = spark_warehouse
    assert snapshot(wh) == snapshot(reference)
    statuses = wh.read("runs", ["status"]).column("status").to_pylist()
    assert statuses.count("running") == 1 and statuses.count("succeeded") == 1  # the killed run stays visible


def test_kill_after_checkpoints_and_rerun(corpus, spark_warehouse, local_engine, tmp_path):
    """--commit-every 2, killed once at least two checkpoints are committed:
    each commit holds whole checkpoints, in URI order, so the killed run lost
    at most the one it was in; the re-run skips every committed source and
    does only the rest; the tables equal an uninterrupted run's."""
    every = 2
    data = tmp_path / "wh"
    proc = _start(corpus, data, "local", "--commit-every", str(every))
    deadline = time.monotonic() + 240
    wh = Warehouse(str(data))
    while wh.count("sources") < 2 * every and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    _kill(proc)
    committed = sorted(wh.read("sources", ["source_uri"]).column("source_uri").to_pylist())
    every_source = sorted(spark_warehouse[0].read("sources", ["source_uri"]).column("source_uri").to_pylist())
    assert len(committed) >= 2 * every and len(committed) % every == 0 and len(committed) < len(every_source)
    assert committed == every_source[: len(committed)]  # checkpoints go by URI
    summary = run_ingest([str(corpus)], wh, local_engine, commit_every=every)
    assert summary.skipped == len(committed)  # nothing committed is redone
    assert summary.rows_in - summary.skipped == len(every_source) - len(committed)
    for t in DATA_TABLES:
        keys = wh.read(t, [key_of(t)]).column(key_of(t))
        assert pc.count_distinct(keys).as_py() == len(keys), t
    assert snapshot(wh) == snapshot(spark_warehouse[0])
    statuses = wh.read("runs", ["status"]).column("status").to_pylist()
    assert statuses.count("running") == 1 and statuses.count("succeeded") == 1


def test_two_concurrent_ingests_of_the_same_input(corpus, spark_warehouse, local_engine, tmp_path):
    """Both jobs see an empty warehouse and add the same new articles; both
    must succeed (or fail clearly) and leave every key exactly once."""
    data = tmp_path / "wh"
    procs = [_start(corpus, data, "local") for _ in range(2)]
    codes = [p.wait(300) for p in procs]
    assert any(c == 0 for c in codes), codes
    wh = Warehouse(str(data))
    if any(c != 0 for c in codes):  # a clear failure is allowed: re-running completes
        run_ingest([str(corpus)], wh, local_engine)
    for t in DATA_TABLES:
        keys = wh.read(t, [key_of(t)]).column(key_of(t))
        assert pc.count_distinct(keys).as_py() == len(keys), t
    assert snapshot(wh) == snapshot(spark_warehouse[0])
