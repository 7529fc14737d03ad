"""The `sciir` CLI: every command has --help, queries and exports work,
config precedence (flag > env > TOML > default), spark-submit runs the job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sciir_dist.cli import app
from tests.test_ingest import snapshot

runner = CliRunner()
COMMANDS = ["synth", "ingest", "curate", "query", "sql", "stats", "show", "demo", "export", "submit", "train clip",
            "bench load", "bench build", "bench checklist", "bench sweep", "bench judge", "bench score", "bench correlate",
            "bench agreement", "bench contamination", "warehouse vacuum"]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help(cmd):
    res = runner.invoke(app, [*cmd.split(), "--help"])
    assert res.exit_code == 0 and "Usage" in res.output


def test_query_sql_stats_show(spark_warehouse, tmp_path):
    wh, _ = spark_warehouse
    res = runner.invoke(app, ["query", "panels", "--data", wh.root, "--where", "panel_letter = 'b'",
                              "--columns", "panel_id,panel_letter,bbox", "--limit", "5", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.strip().splitlines()]
    assert 0 < len(rows) <= 5 and all(r["panel_letter"] == "b" and len(r["bbox"]) == 4 for r in rows)
    res = runner.invoke(app, ["sql", "--data", wh.root, "--format", "csv",
                              "SELECT a.license, count(*) AS n FROM panels p JOIN articles a USING (article_id) GROUP BY 1"])
    assert res.exit_code == 0 and res.stdout.splitlines()[1].startswith('"CC-BY-4.0"'), res.output
    res = runner.invoke(app, ["stats", "--data", wh.root, "--json"])
    s = json.loads(res.stdout)
    assert s["tables"]["panels"]["rows"] == wh.count("panels") and any(k.endswith("third_party") for k in s["rejects_by_reason"])
    pid = rows[0]["panel_id"]
    res = runner.invoke(app, ["show", pid, "--data", wh.root, "--out", str(tmp_path / "p.png")])
    assert res.exit_code == 0
    from PIL import Image

    assert Image.open(tmp_path / "p.png").size == (1024, 1024)
    res = runner.invoke(app, ["query", "nope", "--data", wh.root])
    assert res.exit_code != 0 and "no table" in res.output


def test_config_file_and_env_precedence(tmp_path, corpus, monkeypatch):
    cfg = tmp_path / "sciir.toml"
    cfg.write_text('[ingest]\nengine = "local"\nallow_license = ["CC-BY-4.0", "CC-BY-NC-4.0"]\n')
    data = tmp_path / "wh"
    monkeypatch.setenv("SCIIR_DATA", str(data))
    res = runner.invoke(app, ["--config", str(cfg), "ingest", "--input", str(corpus), "--json", "--no-progress"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert "license:CC-BY-NC-4.0" not in summary["rejected"]  # the TOML allow-list applied
    runs = runner.invoke(app, ["query", "runs", "--format", "json"])
    params = json.loads(json.loads(runs.stdout.splitlines()[-1])["params"])
    assert params["engine"] == "local" and "CC-BY-NC-4.0" in params["allow_license"]


def test_secrets_are_redacted_in_runs():
    from sciir_dist.runs import redact

    assert redact({"api_key": "sk-123", "storage_options": {"aws_secret_access_key": "x", "region": "eu"}}) == {
        "api_key": "***", "storage_options": {"aws_secret_access_key": "***", "region": "eu"}}


def test_spark_submit_runs_the_job_unchanged(corpus, spark_warehouse, tmp_path):
    import pyspark

    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    data = tmp_path / "wh"
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [str(submit), "--master", "local[2]", str(repo / "jobs" / "ingest.py"), "--input", str(corpus), "--data", str(data),
         "--no-progress", "--json"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    from sciir_dist.warehouse import Warehouse

    assert snapshot(Warehouse(str(data))) == snapshot(spark_warehouse[0])
    run = Warehouse(str(data)).read("runs").to_pylist()[0]
    assert run["engine"] == "spark" and run["status"] == "succeeded"
