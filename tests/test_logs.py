"""Issue 12 item 7: a normal run is quiet. Spark's, Ray's and Lance's warnings
go to <warehouse>/_logs/ and the terminal shows only our output; --verbose
leaves them on the terminal. Run as a user runs it: the `sciir` command in a
process of its own (in-process runners capture stderr themselves)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCIIR = str(Path(sys.executable).with_name("sciir"))


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SCIIR_VERBOSE"}
    return subprocess.run([SCIIR, *args], capture_output=True, text=True, env=env, timeout=300)


def test_ingest_and_curate_print_no_engine_warnings(tmp_path):
    corpus, data = tmp_path / "corpus", tmp_path / "wh"
    assert _run("synth", "--articles", "2", "--out", str(corpus)).returncode == 0
    ingest = _run("ingest", "--input", str(corpus), "--data", str(data))
    assert ingest.returncode == 0, ingest.stderr
    curate = _run("curate", "--data", str(data), "--stages", "hash")
    assert curate.returncode == 0, curate.stderr
    assert ingest.stderr == "" and curate.stderr == ""
    assert "summary" in ingest.stdout and "summary" in curate.stdout
    logs = sorted((data / "_logs").glob("*.log"))
    assert len(logs) == 2
    text = "\n".join(p.read_text() for p in logs)
    assert "sciir ingest" in text and "sciir curate" in text  # each file names its command
    assert "WARN" in text  # what the engines said is kept, not thrown away

    verbose = _run("--verbose", "curate", "--data", str(data), "--stages", "hash")
    assert verbose.returncode == 0, verbose.stderr
    assert len(list((data / "_logs").glob("*.log"))) == 2
    assert verbose.stderr != ""
