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


class RayEngine:
    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        init_ray(address, num_cpus)
        self.cluster = address or "local"

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
