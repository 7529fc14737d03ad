"""Spark engine: items become an RDD, results stay persisted on executors
(memory, spilling to disk) between the driver's passes.

Under ``spark-submit`` the session comes from the submit (its master and
configs); otherwise ``local[*]`` unless ``--master`` says otherwise.
"""

from __future__ import annotations

import glob
import os
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from sciir_dist.progress import Bar, make_progress


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


class SparkComputed:
    def __init__(self, engine: "SparkEngine", rdd) -> None:
        self.engine = engine
        self.rdd = rdd

    def collect_each(self, fn: Callable[[Any], Any], desc: str = "") -> list[Any]:
        return self.engine._collect(self.rdd.map(fn), desc)

    def collect_partitions(self, fn: Callable[[Iterator[Any]], Iterable[Any]], desc: str = "") -> list[Any]:
        return self.engine._collect(self.rdd.mapPartitions(fn), desc)

    def release(self) -> None:
        self.rdd.unpersist()


class SparkEngine:
    name = "spark"

    def __init__(self, master: str | None = None, progress: bool = True) -> None:
        self.spark = get_session(master)
        self.sc = self.spark.sparkContext
        self.cluster = self.sc.master  # what the job really ran on (spark-submit may have chosen it)
        self.sc.setLogLevel("ERROR")
        self.progress = progress

    def parallelize(self, items: list[Any], fn: Callable[[Any], Any], desc: str = "", bar: Bar | None = None) -> SparkComputed:
        from pyspark import StorageLevel

        # small slices balance uneven packages across cores
        slices = max(1, min(len(items), self.sc.defaultParallelism * 4))
        rdd = self.sc.parallelize(items, slices).map(fn).persist(StorageLevel.MEMORY_AND_DISK)
        # materialise once, with progress; later passes read the persisted results
        self._collect(rdd.map(lambda _: 1), desc, bar, len(items))
        return SparkComputed(self, rdd)

    def _collect(self, rdd, desc: str, bar: Bar | None = None, items: int = 0) -> list[Any]:
        """``rdd.collect()`` with progress read from Spark's task counts: on a
        job's ``bar`` (finished tasks as their share of ``items``), else on a
        bar of its own (none without a ``desc``: the job's bar speaks)."""
        if bar is None and not (self.progress and desc):
            return rdd.collect()
        group = f"sciir-{time.monotonic_ns()}"
        self.sc.setJobGroup(group, desc or "sciir", interruptOnCancel=False)
        done = threading.Event()

        def watch(report: Callable[[int, int], None]) -> None:
            tracker = self.sc.statusTracker()
            while not done.wait(0.3):
                finished, total = _task_counts(tracker, group)
                if total:
                    report(finished, total)
            report(1, 1)

        with _reporter(desc, bar, items) as report:
            t = threading.Thread(target=watch, args=(report,), daemon=True)
            t.start()
            try:
                return rdd.collect()
            finally:
                done.set()
                t.join()

    def map_batches(self, make_worker: Callable[[], Callable[[list], Any]], batches: list[list], **resources: Any
                    ) -> Iterator[Any]:
        """``worker(batch)`` for each batch, one task per batch, one worker
        per task (built in the task, so models load on the executor); results
        stream back partition by partition. Spark schedules a core per task:
        GPU and CPU requests are the cluster's configuration, not ours."""
        if not batches:
            return iter(())

        def run(part: Iterator[list]) -> Iterator[Any]:
            worker = None
            for batch in part:
                worker = worker or make_worker()
                yield worker(batch)

        rdd = self.sc.parallelize(batches, len(batches)).mapPartitions(run)
        return rdd.toLocalIterator(prefetchPartitions=True)

    def stop(self) -> None:
        # the session is shared (tests, notebooks); stopping is the caller's call
        pass


@contextmanager
def _reporter(desc: str, bar: Bar | None, items: int) -> Iterator[Callable[[int, int], None]]:
    """Where (finished, total) task counts go: ``bar`` (as a share of
    ``items`` on top of what it showed before) or a new bar of its own."""
    if bar is not None:
        start = bar.completed
        yield lambda finished, total: bar.update(start + items * finished / total)
        return
    with make_progress() as p:
        task = p.add_task(desc, total=None)
        yield lambda finished, total: p.update(task, total=total, completed=finished)


def _task_counts(tracker, group: str) -> tuple[int, int]:
    """(finished, total) tasks of the Spark jobs in ``group``."""
    total = finished = 0
    for job_id in tracker.getJobIdsForGroup(group) or []:
        job = tracker.getJobInfo(job_id)
        for sid in job.stageIds if job else []:
            st = tracker.getStageInfo(sid)
            if st:
                total += st.numTasks
                finished += st.numCompletedTasks
    return finished, total
