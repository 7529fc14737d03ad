"""Shared fixtures: one local SparkSession per test session, synthetic
corpora, and ingested warehouses. Real engines, Lance on disk."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("LANCE_LOG", "error")
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def spark():
    from sciir_dist.engines.spark import get_session

    session = get_session("local[2]", app="sciir-tests")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_engine(spark):
    from sciir_dist.engines.spark import SparkEngine

    return SparkEngine()


@pytest.fixture(scope="session")
def local_engine():
    from sciir_dist.engines.local import LocalEngine

    return LocalEngine()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """A synthetic corpus (seed 3); tests must not modify it."""
    from sciir_dist.synth.corpus import generate

    root = tmp_path_factory.mktemp("corpus")
    generate(root, articles=24, seed=3)
    return root


@pytest.fixture(scope="session")
def manifest(corpus) -> dict:
    import json

    return json.loads((corpus / "manifest.json").read_text())


@pytest.fixture(scope="session")
def spark_warehouse(tmp_path_factory, corpus, spark_engine):
    """The corpus ingested once with Spark (read-only for tests)."""
    from sciir_dist.ingest.run import run_ingest
    from sciir_dist.warehouse import Warehouse

    wh = Warehouse(str(tmp_path_factory.mktemp("wh-spark")))
    summary = run_ingest([str(corpus)], wh, spark_engine)
    return wh, summary


@pytest.fixture
def copy_corpus(tmp_path, corpus):
    """A private, modifiable copy of the corpus."""
    dst = tmp_path / "corpus"
    shutil.copytree(corpus, dst)
    return dst


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray instance for the test session."""
    import ray

    from sciir_dist.engines.ray import init_ray

    init_ray(num_cpus=2)
    yield ray
    ray.shutdown()


@pytest.fixture
def warehouse_copy(tmp_path, spark_warehouse):
    """A private copy of the Spark-ingested warehouse, to curate or modify."""
    from sciir_dist.warehouse import Warehouse

    dst = tmp_path / "wh"
    shutil.copytree(spark_warehouse[0].root, dst)
    return Warehouse(str(dst))


@pytest.fixture(scope="session")
def curated_warehouse(tmp_path_factory, spark_warehouse, ray_local):
    """The test corpus through every curation stage with the offline
    backends, once per session (read-only for tests; copy to modify)."""
    from sciir_dist.curate.run import STAGES, run_curate
    from sciir_dist.warehouse import Warehouse

    dst = tmp_path_factory.mktemp("curated") / "wh"
    shutil.copytree(spark_warehouse[0].root, dst)
    wh = Warehouse(str(dst))
    summary = run_curate(wh, list(STAGES), progress=False)  # all of them, in pipeline order
    return wh, summary


@pytest.fixture
def curated_copy(tmp_path, curated_warehouse):
    """A private copy of the curated warehouse, to build benchmarks or train on."""
    from sciir_dist.warehouse import Warehouse

    dst = tmp_path / "curated"
    shutil.copytree(curated_warehouse[0].root, dst)
    return Warehouse(str(dst))


@pytest.fixture
def generated_bench(tmp_path, ray_local):
    """The published release cut to four samples (All_Three 001/002, IF and
    IR), each with one text-render generation: a benchmark to judge."""
    from sciir_dist.bench.load import find_release, load_release
    from sciir_dist.bench.models_file import ModelSpec
    from sciir_dist.bench.sweep import run_sweep
    from sciir_dist.sql import is_in
    from sciir_dist.warehouse import Warehouse

    wh = Warehouse(str(tmp_path / "wh"))
    load_release(wh, find_release())
    wh.open("bench_samples").delete("NOT (`group` = 'All_Three' AND image_filename IN ('001.png', '002.png'))")
    kept = wh.read("bench_samples", ["sample_id"]).column("sample_id").to_pylist()
    wh.open("bench_questions").delete(f"NOT ({is_in('sample_id', kept)})")
    run_sweep(wh, [ModelSpec(name="text-render", backend="text-render", seeds=[0])], progress=False)
    return wh


# `sciir ...` whose driver SIGKILLs its own process group at an exact point
# of its checkpoint loop: before the n-th batch outcome is taken into a
# checkpoint ("batch"), or before the n-th commit to one of the named tables
# ("commit"). The same as a kill from outside at that moment, without racing it.
_KILLED_CLI = """
import os, signal, sys
from sciir_dist import batch_worker, warehouse
point, tables, nth, args = sys.argv[1], set(sys.argv[2].split(",")), int(sys.argv[3]), sys.argv[4:]
seen = [0]
def count():
    seen[0] += 1
    if seen[0] == nth:
        os.killpg(0, signal.SIGKILL)
if point == "batch":
    absorb = batch_worker.BatchOutcome.absorb
    def patched(self, other):
        count()
        return absorb(self, other)
    batch_worker.BatchOutcome.absorb = patched
else:
    commit = warehouse.Warehouse.commit_upsert
    def patched(self, table, *a, **k):
        if table in tables:
            count()
        return commit(self, table, *a, **k)
    warehouse.Warehouse.commit_upsert = patched
from sciir_dist.cli import app
sys.argv = ["sciir", *args]
app()
"""


@pytest.fixture(scope="session")
def killed_cli():
    """Run ``sciir ARGS`` killed at ``point`` ("batch" or "commit") the
    ``nth`` time (commits: to one of the comma-separated ``tables``); fails
    if the run ended on its own."""

    def run(point: str, tables: str, nth: int, *args: str, timeout: float = 240) -> None:
        proc = subprocess.run([sys.executable, "-c", _KILLED_CLI, point, tables, str(nth), *args], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, timeout=timeout)
        assert proc.returncode == -signal.SIGKILL, f"not killed (rc {proc.returncode}): {proc.stderr.decode()[-2000:]}"

    return run
