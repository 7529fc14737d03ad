"""One `runs` row per job: parameters (secrets redacted), status, counts and
the Lance versions read and written. A row is committed as ``running`` when
the job starts, so a killed job stays visible, and replaced at the end."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone

import pyarrow as pa

from schemas.tables import RUNS
from sciir_dist.progress import Summary
from sciir_dist.warehouse import Warehouse

_SECRET = re.compile(r"(key|token|secret|password|credential|auth)", re.I)


def redact(params: dict) -> dict:
    out = {}
    for k, v in params.items():
        if isinstance(v, dict):
            out[k] = redact(v)
        elif _SECRET.search(str(k)) and v not in (None, ""):
            out[k] = "***"
        else:
            out[k] = v
    return out


class RunRecorder:
    def __init__(self, wh: Warehouse, job: str, engine: str, params: dict) -> None:
        self.wh = wh
        self.run_id = f"{job}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        self.row = {
            "run_id": self.run_id,
            "job": job,
            "engine": engine,
            "params": json.dumps(redact(params), default=str, sort_keys=True),
            "status": "running",
            "started_at": datetime.now(timezone.utc),
        }
        self._write()

    def _write(self) -> None:
        self.wh.upsert("runs", pa.Table.from_pylist([self.row], schema=RUNS))

    def finish(self, summary: Summary, versions_read: dict, versions_written: dict, error: str | None = None) -> None:
        self.row.update(
            status="failed" if error else "succeeded",
            error=error,
            ended_at=datetime.now(timezone.utc),
            rows_in=summary.rows_in,
            rows_out=sum(summary.rows_out.values()),
            rows_rejected=summary.rows_rejected,
            rejected_by_reason=json.dumps(summary.rejected, sort_keys=True),
            versions_read=json.dumps(versions_read, sort_keys=True),
            versions_written=json.dumps(versions_written, sort_keys=True),
        )
        self._write()
