"""Ray engine: map a per-batch worker over batches with a Ray Data actor
pool (``map_batches``: one worker per actor, built once, GPUs when asked and
present), streaming results back as batches finish; and the shared request
budget counters. It knows batches and resources, nothing about figures or
tables.
"""

from __future__ import annotations

import os
import pickle
from typing import Any, Callable, Iterator

import numpy as np

from sciir_dist.logs import adopt_library_handlers, logging_to_file
from sciir_dist.progress import Bar


def init_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    address = address or os.environ.get("RAY_ADDRESS")
    if not address:
        # A local instance stays on loopback: without this Ray swaps 127.0.0.1
        # for the host's "remotely reachable" interface address.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    if ray.is_initialized():
        return
    adopt_library_handlers()  # ray's handlers exist from its import on
    # quiet: ray.init must not attach fresh terminal handlers before it warns
    quiet = {"configure_logging": False} if logging_to_file() else {}
    if address:
        ray.init(address=address, log_to_driver=False, **quiet)
    else:
        # address="local": always a fresh instance, never a `ray start` cluster left on this machine
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                 _node_ip_address="127.0.0.1", **quiet)
    import logging

    from ray.data import DataContext

    ctx = DataContext.get_current()
    ctx.enable_progress_bars = False  # our own progress bars count rows, not blocks
    ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    adopt_library_handlers()  # and loggers ray.init created


def start_counter(name: str, limit: int):
    """A named counter actor every worker of the run can draw from (shared
    request budgets); it lives as long as the driver's job. Returns the handle."""
    import ray

    from sciir_dist.backends.budget import Counter

    return ray.remote(num_cpus=0)(Counter).options(name=name).remote(limit)


def release(actors: list) -> None:
    """Kill actors a job started (its budget counters)."""
    import ray

    for a in actors:
        ray.kill(a)


class _BatchActor:
    """One actor of the pool: builds its worker once, then maps batches. Each
    Ray Data row is one pickled batch, so no item is reshaped by Arrow on the
    way in or out."""

    def __init__(self, make_worker: Callable[[], Callable[[list], Any]]) -> None:
        self.worker = make_worker()

    def __call__(self, rows: dict[str, np.ndarray]) -> dict[str, list]:
        return {"outcome": [pickle.dumps(self.worker(pickle.loads(b))) for b in rows["batch"]]}


def _apply_each(fn: Callable[[Any], Any], items: list) -> list:
    return [fn(x) for x in items]


def _apply_partition(fn: Callable[[Iterator[Any]], Any], items: list) -> list:
    return list(fn(iter(items)))


class RayComputed:
    """Results kept in the object store, one list per partition, for the
    driver's later passes (the Spark engine's persisted RDD, on Ray)."""

    def __init__(self, parts: list) -> None:
        self.parts = parts

    def _run(self, apply: Callable, fn: Callable, desc: str) -> list[Any]:
        import ray

        task = ray.remote(apply)
        return [y for ys in _gather([task.remote(fn, p) for p in self.parts], desc) for y in ys]

    def collect_each(self, fn: Callable[[Any], Any], desc: str = "") -> list[Any]:
        return self._run(_apply_each, fn, desc)

    def collect_partitions(self, fn: Callable[[Iterator[Any]], Any], desc: str = "") -> list[Any]:
        return self._run(_apply_partition, fn, desc)

    def release(self) -> None:
        self.parts = []


def _wait(refs: list, desc: str) -> None:
    """Wait for every task, with a progress bar over finished ones; results
    stay where they are."""
    import ray

    from sciir_dist.progress import make_progress

    pending = list(refs)
    with make_progress() as bar:
        task = bar.add_task(desc or "ray", total=len(refs), visible=bool(desc))
        while pending:
            done, pending = ray.wait(pending, num_returns=len(pending), timeout=0.3, fetch_local=False)
            bar.advance(task, len(done))


def _gather(refs: list, desc: str) -> list:
    import ray

    _wait(refs, desc)
    return ray.get(refs)


class RayEngine:
    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        init_ray(address, num_cpus)
        self.cluster = address or "local"

    def parallelize(self, items: list[Any], fn: Callable[[Any], Any], desc: str = "", bar: Bar | None = None) -> RayComputed:
        """``fn`` over items in Ray tasks (a few partitions per CPU, so uneven
        packages balance); results stay in the object store. A job's ``bar``
        is advanced by the items once they are all done."""
        import ray

        if not items:
            return RayComputed([])
        cpus = int(ray.cluster_resources().get("CPU", 1))
        n = max(1, min(len(items), cpus * 4))
        parts = [items[i::n] for i in range(n)]
        task = ray.remote(_apply_each)
        refs = [task.remote(fn, p) for p in parts]
        _wait(refs, "" if bar else desc)  # materialise once, with progress
        if bar is not None:
            bar.advance(len(items))
        return RayComputed(refs)

    def stop(self) -> None:
        pass  # the Ray instance is shared (tests, notebooks, other stages of the job)

    def map_batches(self, make_worker: Callable[[], Callable[[list], Any]], batches: list[list], *,
                    num_cpus: float = 1.0, num_gpus: float = 0.0, concurrency: int | None = None) -> Iterator[Any]:
        """Stream ``worker(batch)`` results back from an actor pool as batches
        finish; each actor builds its worker once (``make_worker``)."""
        import ray
        import ray.data

        if not batches:
            return iter(())
        cpus = int(ray.cluster_resources().get("CPU", 1))
        gpus = int(ray.cluster_resources().get("GPU", 0))
        use_gpu = num_gpus if gpus else 0.0
        size = concurrency or max(1, int(cpus // max(num_cpus, 1)))
        if use_gpu:
            size = min(size, max(1, int(gpus / use_gpu)))
        ds = ray.data.from_items([{"batch": pickle.dumps(b)} for b in batches], override_num_blocks=len(batches))
        out = ds.map_batches(
            _BatchActor, fn_constructor_args=(make_worker,), batch_size=1, num_cpus=num_cpus, num_gpus=use_gpu,
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=size), batch_format="numpy",
        )
        return (pickle.loads(row["outcome"]) for row in out.iter_rows())
