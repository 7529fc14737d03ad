"""`sciir submit` sends jobs/curate.py through Ray's Jobs API to a real Ray
head on loopback (`ray start --head`; Ray 2.60 local clusters use token
auth, which the client picks up from ~/.ray/auth_token)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}  # keep Ray on 127.0.0.1

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory):
    gcs, dash = _free_port(), _free_port()
    log = open(tmp_path_factory.mktemp("ray-head") / "head.log", "w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
         f"--port={gcs}", "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}", "--num-cpus=2",
         # explicit ports: the test session's own local Ray holds the defaults
         f"--dashboard-agent-listen-port={_free_port()}", f"--dashboard-agent-grpc-port={_free_port()}",
         f"--metrics-export-port={_free_port()}", f"--runtime-env-agent-port={_free_port()}",
         "--include-dashboard=true", "--disable-usage-stats"],
        env=dict(os.environ, **LOOPBACK), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{dash}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", dash)) == 0:
                break
        time.sleep(1)
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


def test_sciir_submit_runs_curate_on_the_cluster(ray_head, warehouse_copy):
    wh = warehouse_copy
    env = dict(os.environ, **LOOPBACK)
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run([sys.executable, "-m", "sciir_dist.cli", "submit", "--address", ray_head, "--wait",
                           "--python", sys.executable, "--timeout", "300", "curate", "--data", wh.root,
                           "--stages", "hash,dedup", "--no-progress", "--json"],
                          env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "SUCCEEDED" in proc.stdout and '"job": "curate"' in proc.stdout  # the job's own logs streamed back
    assert wh.count("panel_hashes") == wh.count("panels") == wh.count("panel_dedup")
    run = wh.read("runs", where="job = 'curate'").to_pylist()[0]
    assert run["status"] == "succeeded" and run["engine"] == "ray"


def test_submit_refuses_unknown_jobs():
    from sciir_dist.submit import submit

    with pytest.raises(ValueError, match="unknown job"):
        submit("nope", [], "http://127.0.0.1:1")
