"""`sciir submit`: run a job on a Ray cluster through the Jobs API
(``JobSubmissionClient``), shipping this project as the job's working
directory. Ray 2.60 clusters started with ``ray start`` use token auth: the
client then needs ``RAY_AUTH_MODE=token`` and the cluster's token
(``~/.ray/auth_token`` or ``RAY_AUTH_TOKEN``)."""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
JOBS = {"curate": "jobs/curate.py", "bench": "jobs/bench.py", "train-clip": "jobs/train_clip.py"}
#: never shipped to the cluster
EXCLUDES = [".venv/", ".git/", "tests/", "benches/", "demo/", "**/__pycache__/", "*.lance/"]
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")


def _auth_env() -> None:
    if "RAY_AUTH_MODE" not in os.environ and (os.environ.get("RAY_AUTH_TOKEN")
                                              or (Path.home() / ".ray" / "auth_token").exists()):
        os.environ["RAY_AUTH_MODE"] = "token"


def submit(job: str, args: list[str], address: str, *, python: str = "python", wait: bool = False,
           log=print, agent_wait_s: float = 120.0, timeout_s: float | None = None) -> tuple[str, str | None]:
    """Submit; returns (job id, final status if ``wait``)."""
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}; one of {sorted(JOBS)}")
    _auth_env()
    from ray.job_submission import JobSubmissionClient

    client = JobSubmissionClient(address)
    entrypoint = " ".join([shlex.quote(python), JOBS[job], *(shlex.quote(a) for a in args)])
    runtime_env = {"working_dir": str(PROJECT), "excludes": EXCLUDES}
    deadline = time.monotonic() + agent_wait_s
    while True:  # a fresh head's job agent comes up a little after its dashboard
        try:
            job_id = client.submit_job(entrypoint=entrypoint, runtime_env=runtime_env)
            break
        except RuntimeError as exc:
            if "No available agent" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(2)
    log(f"submitted {job_id}: {entrypoint}")
    if not wait:
        return job_id, None
    shown, end = 0, (time.monotonic() + timeout_s) if timeout_s else None
    while True:
        status = str(client.get_job_status(job_id)).split(".")[-1]
        logs = client.get_job_logs(job_id)
        if len(logs) > shown:
            log(logs[shown:].rstrip("\n"))
            shown = len(logs)
        if status in TERMINAL:
            return job_id, status
        if end and time.monotonic() > end:
            client.stop_job(job_id)
            return job_id, "TIMEOUT"
        time.sleep(1)
