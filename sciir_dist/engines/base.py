"""The engine contract: where a per-item function runs. Engines know nothing
about figures, tables or Lance; drivers (e.g. ``ingest.run``) do.

``engine.parallelize(items, fn)`` applies ``fn`` to every item and keeps the
results where they were computed (executor memory/disk for Spark, a list for
the local engine); the driver then makes small ``collect`` passes over them
(summaries first, then fragment writes) without recomputing.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Protocol, TypeVar

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

    def parallelize(self, items: list[T], fn: Callable[[T], Any], desc: str = "") -> Computed: ...

    def stop(self) -> None: ...


def make_engine(name: str, master: str | None = None, progress: bool = True) -> Engine:
    if name == "local":
        from sciir_dist.engines.local import LocalEngine

        return LocalEngine(progress=progress)
    if name == "spark":
        from sciir_dist.engines.spark import SparkEngine

        return SparkEngine(master=master, progress=progress)
    raise ValueError(f"unknown engine {name!r}: choose spark or local")
