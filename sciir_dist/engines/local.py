"""In-process engine: the same functions, no cluster. For small inputs,
debugging, and as the reference the Spark engine must agree with."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from sciir_dist.progress import Bar, progress_iter

#: results per pseudo-partition, so fragment files stay reasonably sized
PARTITION_SIZE = 64


class LocalComputed:
    def __init__(self, results: list[Any]) -> None:
        self._results = results

    def collect_each(self, fn: Callable[[Any], Any], desc: str = "") -> list[Any]:
        return [fn(r) for r in self._results]

    def collect_partitions(self, fn: Callable[[Iterator[Any]], Iterable[Any]], desc: str = "") -> list[Any]:
        out: list[Any] = []
        for i in range(0, len(self._results), PARTITION_SIZE):
            out.extend(fn(iter(self._results[i : i + PARTITION_SIZE])))
        return out

    def release(self) -> None:
        self._results = []


class LocalEngine:
    name = "local"

    def __init__(self, progress: bool = True) -> None:
        self.progress = progress

    def parallelize(self, items: list[Any], fn: Callable[[Any], Any], desc: str = "", bar: Bar | None = None) -> LocalComputed:
        return LocalComputed([fn(x) for x in progress_iter(items, desc, enabled=self.progress, bar=bar)])

    def map_batches(self, make_worker: Callable[[], Callable[[list], Any]], batches: list[list], **resources: Any
                    ) -> Iterator[Any]:
        """``worker(batch)`` for each batch, one worker, in this process
        (resources are the caller's machine)."""
        if not batches:
            return
        worker = make_worker()
        for batch in batches:
            yield worker(batch)

    def stop(self) -> None:
        pass
