"""The engine contract: where work runs. Engines know nothing about figures,
tables or Lance; drivers (``ingest.run``, ``runner``) do.

- ``engine.map_batches(make_worker, batches)`` builds a worker once per
  executor (process, Spark task, Ray actor) and streams ``worker(batch)``
  back as batches finish: every row stage (curation, bench) runs this way,
  on any engine, with the driver committing at checkpoints.
- ``engine.parallelize(items, fn)`` applies ``fn`` to every item and keeps the
  results where they were computed (executor memory/disk for Spark, a list
  for the local engine); the driver then makes small ``collect`` passes over
  them (ingest: duplicate articles are resolved before anything is written).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Protocol, TypeVar

from sciir_dist.progress import Bar

T = TypeVar("T")
R = TypeVar("R")


class Computed(Protocol):
    def collect_each(self, fn: Callable[[Any], R], desc: str = "") -> list[R]:
        """fn(result) for every result, collected to the driver."""
        ...

    def collect_partitions(self, fn: Callable[[Iterator[Any]], Iterable[R]], desc: str = "") -> list[R]:
        """fn(results of one partition) for every partition, concatenated."""
        ...

    def release(self) -> None: ...


class Engine(Protocol):
    name: str

    def parallelize(self, items: list[T], fn: Callable[[T], Any], desc: str = "", bar: Bar | None = None) -> Computed:
        """A driver that calls this several times (ingest's checkpoints)
        passes one ``bar`` for the whole job: the engine counts items on it
        and shows no bar of its own (a ``collect`` pass without ``desc``
        shows none either)."""
        ...

    def map_batches(self, make_worker: Callable[[], Callable[[list], R]], batches: list[list], *,
                    num_cpus: float = 1.0, num_gpus: float = 0.0, concurrency: int | None = None) -> Iterator[R]: ...

    def stop(self) -> None: ...


ENGINES = ("local", "spark", "ray")


def make_engine(name: str, master: str | None = None, progress: bool = True) -> Engine:
    """``master``: the Spark master or the Ray address (None: a local one)."""
    if name == "local":
        from sciir_dist.engines.local import LocalEngine

        return LocalEngine(progress=progress)
    if name == "spark":
        from sciir_dist.engines.spark import SparkEngine

        return SparkEngine(master=master, progress=progress)
    if name == "ray":
        from sciir_dist.engines.ray import RayEngine

        return RayEngine(master)
    raise ValueError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")
