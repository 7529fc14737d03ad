"""Spark engine: batches become Spark tasks, one worker per task, results
streamed back to the driver as they finish.

Under ``spark-submit`` the session comes from the submit (its master and
configs); otherwise ``local[*]`` unless ``--master`` says otherwise.
"""

from __future__ import annotations

import functools
import glob
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator


def configure_environment() -> None:
    """Spark workers must run this interpreter (it has pyarrow, lance, ...),
    and the JVM needs a Java 17."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # local sessions stay on loopback
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    if not os.environ.get("JAVA_HOME"):
        candidates = sorted(glob.glob("/usr/lib/jvm/java-17-openjdk*")) + sorted(glob.glob("/usr/lib/jvm/*17*"))
        if candidates:
            os.environ["JAVA_HOME"] = candidates[0]


def get_session(master: str | None = None, app: str = "sciir-dist"):
    configure_environment()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    builder = SparkSession.builder.appName(app)
    # under spark-submit the JVM gateway already exists and carries --master
    if master or "PYSPARK_GATEWAY_PORT" not in os.environ:
        builder = builder.master(master or "local[*]")
    log_config = os.path.join(os.path.dirname(__file__), "log4j2.properties")
    return (
        builder.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log_config}")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", os.environ.get("SCIIR_SPARK_DRIVER_MEMORY", "4g"))
        .config("spark.python.worker.reuse", "true")
        # The driver commits fragments written by tasks; a speculative duplicate
        # attempt would only leave an orphan file, but there is no gain in it.
        .config("spark.speculation", "false")
        .getOrCreate()
    )


class SparkEngine:
    name = "spark"

    def __init__(self, master: str | None = None) -> None:
        self.spark = get_session(master)
        self.sc = self.spark.sparkContext
        self.cluster = self.sc.master  # what the job really ran on (spark-submit may have chosen it)
        self.sc.setLogLevel("ERROR")

    def map_batches(self, make_worker: Callable[[], Callable[[list], Any]], batches: list[list], *,
                    concurrency: int | None = None, **resources: Any) -> Iterator[Any]:
        """``worker(batch)`` for each batch, one task per batch, one worker
        per task (built in the task, so models load on the executor). Each
        task is a Spark job of its own, submitted from threads as many as the
        cluster's cores (or ``concurrency``), so batches run side by side and
        stream back in batch order (an RDD's ``toLocalIterator`` would run one
        partition at a time). Spark schedules a core per task: GPU and CPU
        requests are the cluster's configuration, not ours."""
        if not batches:
            return iter(())
        rdd = self.sc.parallelize(batches, len(batches))
        width = min(len(batches), concurrency or self.sc.defaultParallelism)
        return _stream(self.sc, rdd, functools.partial(_run_batches, make_worker), width)

    def stop(self) -> None:
        # the session is shared (tests, notebooks); stopping is the caller's call
        pass


def _run_batches(make_worker: Callable[[], Callable[[list], Any]], part: Iterator[list]) -> Iterator[Any]:
    """One partition's batches through one worker, built in the task."""
    worker = None
    for batch in part:
        worker = worker or make_worker()
        yield worker(batch)


def _stream(sc, rdd, run: Callable[[Iterator[list]], Iterator[Any]], width: int) -> Iterator[Any]:
    """``run`` over every partition of ``rdd``, ``width`` Spark jobs at a
    time, yielding each partition's results in partition order."""
    pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="sciir-spark")
    try:
        jobs = [pool.submit(sc.runJob, rdd, run, [i]) for i in range(rdd.getNumPartitions())]
        for job in jobs:
            yield from job.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
