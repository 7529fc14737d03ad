"""In-process engine: the same workers, no cluster. For small inputs,
debugging, and as the reference the Spark and Ray engines must agree with."""

from __future__ import annotations

from typing import Any, Callable, Iterator


class LocalEngine:
    name = "local"

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
