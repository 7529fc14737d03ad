"""The work of one batch, the same on every engine (local, Spark, Ray): read
the batch's rows of a pinned table version (blobs as bytes, looked-up columns
joined by key), call the stage, write its rows and rejects as uncommitted
Lance fragments, and report what happened as a :class:`BatchOutcome`.

Engines only map a worker over batches of items and stream the outcomes back;
the driver (``sciir_dist.runner``) commits them at checkpoints. Lance is
imported inside the worker: it is not fork-safe, and Spark's Python workers
fork.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import pyarrow as pa
import pyarrow.compute as pc

from sciir_dist.sql import is_in
from sciir_dist.warehouse import Warehouse, write_fragments


@dataclass(frozen=True)
class TableBatchJob:
    """What a worker needs: where to read rows, what to call, where to write."""

    wh: Warehouse
    source_table: str
    source_version: int
    columns: tuple[str, ...]  # plain columns to read
    blob_columns: tuple[str, ...]  # read as bytes through Lance's blob API
    output_table: str
    key: str  # key column of the output rows
    source_key: str  # key of the source rows (output rows carry it; rejects name it)
    make_stage: Callable[[], Any]  # returns an object with .setup() and .process(pa.Table)
    reject_rows: Callable[[Any], list[dict]]  # stage result -> rejects rows
    output_schema: pa.Schema | None = None  # None: the declared schema of output_table
    #: extra batch columns: name -> (table, key, column), joined by key per batch
    lookups: tuple[tuple[str, str, str, str], ...] = ()


@dataclass
class BatchOutcome:
    """The typed events of one batch."""

    items: int  # work items the batch held
    fragments: dict[str, list[str]] = field(default_factory=dict)  # table -> uncommitted fragment JSON
    done: list[str] = field(default_factory=list)  # output keys written
    ok: list[str] = field(default_factory=list)  # source keys that produced output
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (source key, reason)

    def absorb(self, other: "BatchOutcome") -> None:
        """Add another batch's events (the driver gathers a checkpoint's worth)."""
        for table, frags in other.fragments.items():
            self.fragments.setdefault(table, []).extend(frags)
        self.done += other.done
        self.ok += other.ok
        self.rejected += other.rejected
        self.items += other.items


class TableBatchWorker:
    """Built once per worker (actor, Spark partition, local run): opens the
    pinned table and sets the stage up (models load here)."""

    def __init__(self, job: TableBatchJob) -> None:
        import warnings

        # Ray and Spark workers fork+exec helpers; lance's at-fork warning is
        # about forks that keep running Python, which never happens here.
        warnings.filterwarnings("ignore", message="lance is not fork-safe")
        import lance

        self.job = job
        so = job.wh.storage_options or None
        self.ds = lance.dataset(job.wh.uri(job.source_table), version=job.source_version, storage_options=so)
        self.lookup_ds = {t: lance.dataset(job.wh.uri(t), storage_options=so) for t in {lk[1] for lk in job.lookups}}
        self.stage = job.make_stage()
        self.stage.setup()

    def _join_lookups(self, table: pa.Table) -> pa.Table:
        """Append looked-up columns (null where the other table has no row)."""
        by_source: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for name, tbl, key, col in self.job.lookups:
            by_source.setdefault((tbl, key), []).append((name, col))
        for (tbl, key), cols in by_source.items():
            keys = [k for k in set(table.column(key).to_pylist()) if k is not None]
            found = self.lookup_ds[tbl].to_table(columns=[key, *{c for _, c in cols}], filter=is_in(key, keys))
            pos = pc.index_in(table.column(key), value_set=found.column(key).combine_chunks())
            for name, col in cols:
                table = table.append_column(name, found.column(col).take(pos))
        return table

    def read(self, items: list[dict]) -> pa.Table:
        """The batch's input rows; items are {"index": row, **extra columns}."""
        idx = [int(i["index"]) for i in items]
        table = self.ds.take(idx, columns=list(self.job.columns))
        for extra in (k for k in items[0] if k != "index"):  # per-item columns (e.g. a sweep's seed)
            table = table.append_column(extra, pa.array([i[extra] for i in items]))
        for col in self.job.blob_columns:
            data = [b.read() if b is not None else None for b in self.ds.take_blobs(col, indices=idx)]
            table = table.append_column(col, pa.array(data, pa.large_binary()))
        return self._join_lookups(table) if self.job.lookups else table

    def __call__(self, items: list[dict]) -> BatchOutcome:
        result = self.stage.process(self.read(items))
        out = BatchOutcome(items=len(items))
        out.fragments[self.job.output_table] = write_fragments(self.job.wh, self.job.output_table, result.rows,
                                                               self.job.output_schema)
        rejects = self.job.reject_rows(result)
        if rejects:
            out.fragments["rejects"] = write_fragments(self.job.wh, "rejects", pa.Table.from_pylist(rejects))
        out.done = result.rows.column(self.job.key).to_pylist()
        out.ok = list(dict.fromkeys(result.rows.column(self.job.source_key).to_pylist()))
        out.rejected = [(r["item"], r["reason"]) for r in rejects]
        return out


def batches(items: list[int] | list[dict], size: int) -> list[list[dict]]:
    """Work items (row indices, or dicts with an ``index``) cut into batches."""
    rows = [i if isinstance(i, dict) else {"index": i} for i in items]
    return [rows[i:i + size] for i in range(0, len(rows), size)]
