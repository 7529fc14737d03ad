"""jobs/curate.py submitted through Ray's Jobs API to a real Ray head on
loopback (`ray start --head`; Ray 2.60 local clusters use token auth, so the
client runs with RAY_AUTH_MODE=token in its own process)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}  # keep Ray on 127.0.0.1

CLIENT = textwrap.dedent("""
    import sys, time
    from ray.job_submission import JobSubmissionClient
    url, entrypoint, workdir = sys.argv[1:4]
    client = JobSubmissionClient(url)
    for attempt in range(60):  # the job agent comes up a little after the dashboard
        try:
            job = client.submit_job(entrypoint=entrypoint, runtime_env={
                "working_dir": workdir, "excludes": [".venv/", ".git/", "tests/", "benches/", "demo/"]})
            break
        except RuntimeError as exc:
            if "No available agent" not in str(exc) or attempt == 59:
                raise
            time.sleep(2)
    for _ in range(240):
        status = str(client.get_job_status(job))
        if status in ("SUCCEEDED", "FAILED", "STOPPED"):
            break
        time.sleep(1)
    print(client.get_job_logs(job)[-2000:])
    print("STATUS", status)
    sys.exit(0 if status == "SUCCEEDED" else 1)
""")


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


def test_curate_job_through_the_jobs_api(ray_head, warehouse_copy):
    wh = warehouse_copy
    entry = f"{sys.executable} jobs/curate.py --data {wh.root} --stages hash,dedup --no-progress --json"
    env = dict(os.environ, RAY_AUTH_MODE="token", **LOOPBACK)
    proc = subprocess.run([sys.executable, "-c", CLIENT, ray_head, entry, str(REPO)], env=env,
                          capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert wh.count("panel_hashes") == wh.count("panels") == wh.count("panel_dedup")
    run = wh.read("runs", where="job = 'curate'").to_pylist()[0]
    assert run["status"] == "succeeded" and run["engine"] == "ray"
