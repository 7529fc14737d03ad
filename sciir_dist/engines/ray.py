"""Ray engine: run a per-batch function over chosen rows of a Lance table with
Ray Data actor pools, writing results as Lance fragments from the actors.

The driver plans (which row indices of a pinned table version to process),
streams the actors' results back, and commits what they wrote every
``commit_every`` rows (checkpoints: a crash loses at most one checkpoint of
work, and a re-run skips everything committed). This module knows tables,
keys and batches; it knows nothing about figures.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
import pyarrow as pa

from sciir_dist.logs import adopt_library_handlers, logging_to_file
from sciir_dist.sql import is_in
from sciir_dist.warehouse import Warehouse, write_fragments


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


@dataclass(frozen=True)
class TableBatchJob:
    """What the actors need: where to read rows, what to call, where to write."""

    wh: Warehouse
    source_table: str
    source_version: int
    columns: tuple[str, ...]  # plain columns to read
    blob_columns: tuple[str, ...]  # read as bytes through Lance's blob API
    output_table: str
    key: str  # key column of the output rows
    source_key: str  # key of the source rows (output rows carry it; rejects name it)
    make_worker: Callable[[], Any]  # returns an object with .setup() and .process(pa.Table)
    reject_rows: Callable[[Any], list[dict]]  # worker result -> rejects rows
    output_schema: pa.Schema | None = None  # None: the declared schema of output_table
    #: extra batch columns: name -> (table, key, column), joined by key per batch
    lookups: tuple[tuple[str, str, str, str], ...] = ()


class _Actor:
    def __init__(self, job: TableBatchJob) -> None:
        import warnings

        # Ray's worker processes fork+exec helpers; lance's at-fork warning is
        # about forks that keep running Python, which never happens here.
        warnings.filterwarnings("ignore", message="lance is not fork-safe")
        import lance

        self.job = job
        self.ds = lance.dataset(job.wh.uri(job.source_table), version=job.source_version,
                                storage_options=job.wh.storage_options or None)
        self.lookup_ds = {t: lance.dataset(job.wh.uri(t), storage_options=job.wh.storage_options or None)
                          for t in {lk[1] for lk in job.lookups}}
        self.worker = job.make_worker()
        self.worker.setup()

    def _join_lookups(self, table: pa.Table) -> pa.Table:
        """Append looked-up columns (null where the other table has no row)."""
        import pyarrow.compute as pc

        by_source: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for name, tbl, key, col in self.job.lookups:
            by_source.setdefault((tbl, key), []).append((name, col))
        for (tbl, key), cols in by_source.items():
            keys = [k for k in set(table.column(key).to_pylist()) if k is not None]
            found = self.lookup_ds[tbl].to_table(columns=[key, *{c for _, c in cols}],
                                                 filter=is_in(key, keys))
            pos = pc.index_in(table.column(key), value_set=found.column(key).combine_chunks())
            for name, col in cols:
                table = table.append_column(name, found.column(col).take(pos))
        return table

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        idx = [int(i) for i in batch["index"]]
        table = self.ds.take(idx, columns=list(self.job.columns))
        for extra in (k for k in batch if k != "index"):  # per-item columns (e.g. a sweep's seed)
            table = table.append_column(extra, pa.array(batch[extra].tolist()))
        for col in self.job.blob_columns:
            data = [b.read() if b is not None else None for b in self.ds.take_blobs(col, indices=idx)]
            table = table.append_column(col, pa.array(data, pa.large_binary()))
        if self.job.lookups:
            table = self._join_lookups(table)
        result = self.worker.process(table)
        kinds, payloads = [], []
        for f in write_fragments(self.job.wh, self.job.output_table, result.rows, self.job.output_schema):
            kinds.append("output")
            payloads.append(f)
        rejects = self.job.reject_rows(result)
        if rejects:
            for f in write_fragments(self.job.wh, "rejects", pa.Table.from_pylist(rejects)):
                kinds.append("rejects")
                payloads.append(f)
        for key in result.rows.column(self.job.key).to_pylist():
            kinds.append("done")
            payloads.append(key)
        for key in dict.fromkeys(result.rows.column(self.job.source_key).to_pylist()):
            kinds.append("ok")
            payloads.append(key)
        for r in rejects:
            kinds.append("rejected")
            payloads.append(r["item"] + "\t" + r["reason"])
        kinds.append("batch")
        payloads.append(str(len(idx)))
        return {"kind": kinds, "payload": payloads}


class RayEngine:
    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        init_ray(address, num_cpus)

    def release(self, actors: list) -> None:
        import ray

        for a in actors:
            ray.kill(a)

    def map_table(self, job: TableBatchJob, indices: list[int] | list[dict], *, batch_size: int, num_cpus: float = 1.0,
                  num_gpus: float = 0.0, concurrency: int | None = None) -> Iterator[tuple[str, str]]:
        """Stream (kind, payload) items back from the actors as batches finish.
        ``indices``: source row indices, or dicts with an ``index`` plus
        per-item values that reach the worker as extra columns."""
        import ray
        import ray.data

        if not indices:
            return iter(())
        cpus = int(ray.cluster_resources().get("CPU", 1))
        gpus = int(ray.cluster_resources().get("GPU", 0))
        use_gpu = num_gpus if gpus else 0.0
        size = concurrency or max(1, int(cpus // max(num_cpus, 1)))
        if use_gpu:
            size = min(size, max(1, int(gpus / use_gpu)))
        items = indices if isinstance(indices[0], dict) else [{"index": i} for i in indices]
        ds = ray.data.from_items(items, override_num_blocks=max(1, len(items) // batch_size))
        out = ds.map_batches(
            _Actor, fn_constructor_args=(job,), batch_size=batch_size, num_cpus=num_cpus, num_gpus=use_gpu,
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=size), batch_format="numpy",
        )
        return ((row["kind"], row["payload"]) for row in out.iter_rows())
