"""The engine contract: where work runs. Engines know nothing about figures,
tables or Lance; drivers (``ingest.run``, ``runner``) do.

``engine.map_batches(make_worker, batches)`` builds a worker once per
executor (process, Spark task, Ray actor) and streams ``worker(batch)``
back as batches finish. It is the one execution layer: ingest (batches of
sources), curation and bench (batches of table rows) all run this way, on
any engine, with the driver committing the workers' uncommitted fragments at
checkpoints. A worker returns a typed outcome (``batch_worker.BatchOutcome``,
``ingest.worker.SourceBatchOutcome``) that says what it wrote; engines may
yield outcomes in any order.
"""

from __future__ import annotations

from typing import Callable, Iterator, Protocol, TypeVar

R = TypeVar("R")


class Engine(Protocol):
    name: str

    def map_batches(self, make_worker: Callable[[], Callable[[list], R]], batches: list[list], *,
                    num_cpus: float = 1.0, num_gpus: float = 0.0, concurrency: int | None = None) -> Iterator[R]: ...

    def stop(self) -> None: ...


ENGINES = ("local", "spark", "ray")


def make_engine(name: str, master: str | None = None) -> Engine:
    """``master``: the Spark master or the Ray address (None: a local one)."""
    if name == "local":
        from sciir_dist.engines.local import LocalEngine

        return LocalEngine()
    if name == "spark":
        from sciir_dist.engines.spark import SparkEngine

        return SparkEngine(master=master)
    if name == "ray":
        from sciir_dist.engines.ray import RayEngine

        return RayEngine(master)
    raise ValueError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")
