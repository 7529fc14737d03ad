"""cluster/: every manifest parses and points at things that exist (job
scripts, CLI options, the Ray version pyproject pins), and ingest runs
through the spark-submit recipe against a real Spark standalone master and
worker on loopback, giving the tables of a local-mode run."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import typer
import yaml

from sciir_dist.bench.models_file import load_models
from sciir_dist.cli import app
from tests.test_ingest import snapshot

REPO = Path(__file__).resolve().parents[1]
CLUSTER = REPO / "cluster"
RAY_VERSION = next(re.search(r"==([\d.]+)", d).group(1) for d in tomllib.loads((REPO / "pyproject.toml").read_text())
                   ["project"]["dependencies"] if d.startswith("ray["))
JOB_COMMANDS = {"jobs/curate.py": ["curate"], "jobs/bench.py": ["bench"], "jobs/train_clip.py": ["train", "clip"],
                "jobs/ingest.py": ["ingest"]}


def _options(path: list[str]) -> set[str]:
    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    if hasattr(cmd, "commands"):
        return {o for sub in cmd.commands.values() for p in sub.params for o in [*p.opts, *p.secondary_opts]}
    return {o for p in cmd.params for o in [*p.opts, *p.secondary_opts]}


def _check_entrypoint(entry: str) -> None:
    words = shlex.split(entry)
    script = next(w for w in words if w.startswith("jobs/"))
    assert (REPO / script).is_file(), script
    known = _options(JOB_COMMANDS[script])
    for w in words:
        if w.startswith("--"):
            assert w.split("=")[0] in known, f"{script}: unknown option {w}"


def test_ray_cluster_launcher():
    cfg = yaml.safe_load((CLUSTER / "ray-cluster.yaml").read_text())
    assert cfg["docker"]["image"] == f"rayproject/ray:{RAY_VERSION}-py311-gpu"
    assert cfg["head_node_type"] in cfg["available_node_types"]
    assert any(t.get("resources", {}).get("GPU") for t in cfg["available_node_types"].values())
    assert any("pip install -e '/home/ray/sciir-dist[yolo]'" in c for c in cfg["setup_commands"])


def test_kuberay_cluster_and_jobs():
    cluster = yaml.safe_load((CLUSTER / "kuberay" / "raycluster.yaml").read_text())
    specs = [cluster["spec"]]
    for name in ("curate", "sweep", "train"):
        job = yaml.safe_load((CLUSTER / "kuberay" / f"rayjob-{name}.yaml").read_text())
        assert job["kind"] == "RayJob" and job["apiVersion"] == "ray.io/v1"
        _check_entrypoint(job["spec"]["entrypoint"])
        specs.append(job["spec"]["rayClusterSpec"])
    for spec in specs:
        assert spec["rayVersion"] == RAY_VERSION
        pods = [spec["headGroupSpec"]["template"]] + [g["template"] for g in spec["workerGroupSpecs"]]
        for pod in pods:
            for c in pod["spec"]["containers"]:
                assert f"ray{RAY_VERSION}-py311" in c["image"]
                assert {s["secretRef"]["name"] for s in c["envFrom"]} == {"sciir-object-store", "sciir-vlm"}
                assert "env" not in c  # no credentials written into the manifest
        assert any("nvidia.com/gpu" in g["template"]["spec"]["containers"][0]["resources"]["limits"]
                   for g in spec["workerGroupSpecs"])


def test_serve_config_serves_an_openai_compatible_vlm():
    cfg = yaml.safe_load((CLUSTER / "serve" / "vllm-serve.yaml").read_text())
    app_cfg = cfg["applications"][0]
    assert app_cfg["import_path"] == "ray.serve.llm:build_openai_app"
    llm = app_cfg["args"]["llm_configs"][0]
    assert llm["model_loading_config"]["model_id"] and llm["engine_kwargs"]["tensor_parallel_size"] >= 1
    assert cfg["http_options"]["port"] == 8000


def test_example_models_file_and_spark_recipe():
    specs = load_models(CLUSTER / "models.example.toml")
    assert {s.backend for s in specs} == {"text-render", "diffusers", "openai"}
    script = CLUSTER / "spark" / "ingest-submit.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    assert "jobs/ingest.py" in script.read_text() and (REPO / "jobs" / "ingest.py").is_file()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"nothing listens on {port}")


@pytest.fixture(scope="module")
def spark_standalone(tmp_path_factory):
    """A Spark standalone master and one worker on loopback, from the scripts PySpark ships."""
    import pyspark

    home = Path(pyspark.__file__).parent
    log_dir = tmp_path_factory.mktemp("spark-standalone")
    env = dict(os.environ, SPARK_HOME=str(home), SPARK_LOCAL_IP="127.0.0.1", SPARK_WORKER_DIR=str(log_dir / "work"),
               JAVA_HOME=os.environ.get("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64"))
    port, web = _free_port(), _free_port()
    procs = []
    for args in (["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                  "--webui-port", str(web)],
                 ["org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}", "--host", "127.0.0.1",
                  "--cores", "2", "--memory", "2g", "--webui-port", str(_free_port())]):
        log = open(log_dir / f"{args[0].rsplit('.', 1)[1]}.log", "w")
        procs.append(subprocess.Popen([str(home / "bin" / "spark-class"), *args], env=env, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True))
        if len(procs) == 1:
            _wait_port(port)
    time.sleep(3)  # the worker registers with the master
    yield f"spark://127.0.0.1:{port}", home
    for p in procs:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(30)


def test_ingest_on_a_spark_standalone_cluster(spark_standalone, corpus, spark_warehouse, tmp_path):
    master, home = spark_standalone
    data = tmp_path / "wh"
    env = dict(os.environ, SPARK_MASTER=master, SPARK_SUBMIT=str(home / "bin" / "spark-submit"),
               PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    proc = subprocess.run([str(CLUSTER / "spark" / "ingest-submit.sh"), "--input", str(corpus), "--data", str(data),
                           "--no-progress", "--json"], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from sciir_dist.warehouse import Warehouse

    wh = Warehouse(str(data))
    assert snapshot(wh) == snapshot(spark_warehouse[0])
    run = wh.read("runs").to_pylist()[0]
    assert run["engine"] == "spark" and run["status"] == "succeeded" and master in run["params"]
