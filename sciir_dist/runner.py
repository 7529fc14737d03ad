"""The driver of stage jobs: plan the rows that lack a stage's output, map
them in batches on an engine (local, Spark or Ray: ``engines.base``), and
commit the workers' fragments at checkpoints, with one `runs` row per job
and one rejects row per failed item. Shared by `sciir curate` and the
`sciir bench` commands; the per-batch work is ``batch_worker``."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from schemas.tables import blob_columns
from sciir_dist.batch_worker import BatchOutcome, TableBatchJob, TableBatchWorker, batches
from sciir_dist.engines.base import Engine, make_engine
from sciir_dist.ingest.model import reject_id_for
from sciir_dist.progress import Summary, make_progress
from sciir_dist.runs import RunRecorder
from sciir_dist.sql import eq
from sciir_dist.stages.base import GlobalStage, Stage, StageResult
from sciir_dist.warehouse import Warehouse, write_fragments


@dataclass(frozen=True)
class StageRejects:
    """Picklable: a stage's failures as rejects rows. One row per (stage,
    panel), so a later success or retry replaces it."""

    stage: str

    def __call__(self, result: StageResult) -> list[dict]:
        return [
            {"reject_id": reject_id_for(self.stage, pid, ""), "item": pid, "stage": self.stage, "reason": reason,
             "detail": detail, "article_id": None, "source_uri": None}
            for pid, reason, detail in result.rejects
        ]


def plan(wh: Warehouse, stage: Stage, retry_rejects: bool) -> tuple[int, list[int]]:
    """(pinned source version, row indices of the rows to process): rows that
    meet the stage's requirements and have no (done) output yet."""
    source = wh.open(stage.source_table)
    keys = source.to_table(columns=[stage.key]).column(stage.key).combine_chunks()

    def key_set(table: str, where: str | None) -> pa.Array:
        if not wh.exists(table):
            return pa.array([], pa.string())
        return wh.read(table, [stage.key], where=where).column(stage.key).combine_chunks()

    for table, where in stage.requires.items():
        if not wh.exists(table):
            raise ValueError(f"stage {stage.name} needs {table}: run the stage that writes it first")
    skip = pc.is_in(keys, value_set=key_set(stage.output_table, stage.done_filter()))
    if not retry_rejects:
        rejected = wh.read("rejects", ["item"], where=eq("stage", stage.name)).column("item").combine_chunks()
        skip = pc.or_(skip, pc.is_in(keys, value_set=rejected))
    for table, where in stage.requires.items():
        skip = pc.or_(skip, pc.invert(pc.is_in(keys, value_set=key_set(table, where))))
    todo = pc.indices_nonzero(pc.invert(skip))
    return source.version, todo.to_pylist()


def run_job(wh: Warehouse, job: str, factories: Callable[[str], tuple[list[Callable[[], Stage | GlobalStage]], list]],
            *, address: str | None = None, retry_rejects: bool = False, commit_every: int = 2000,
            batch_size: int | None = None, params: dict | None = None, progress: bool = True,
            read_tables: tuple[str, ...] = (), engine: str = "ray") -> Summary:
    """Run stages in order as one job with a `runs` row, on ``engine`` (at
    ``address``: a Ray address or Spark master). ``factories(run_id)`` gives a
    picklable factory per stage (workers build their own copy) and Ray actors
    to release at the end (e.g. shared budget counters)."""
    t0 = time.monotonic()
    runner = make_engine(engine, address)
    run = RunRecorder(wh, job, runner.name, dict(params or {}, retry_rejects=retry_rejects))
    summary = Summary(job=job, run_id=run.run_id)
    makers, actors = factories(run.run_id)
    read = {t: wh.version(t) for t in read_tables}
    written: dict[str, int | None] = {}
    try:
        for make in makers:
            stage = make()
            if isinstance(stage, GlobalStage):
                written.update(_run_global(wh, stage, summary))
                continue
            version, items = stage.plan(wh, retry_rejects) or plan(wh, stage, retry_rejects)
            written.update(run_row_stage(wh, runner, stage, make, version, items, summary,
                                         commit_every=commit_every, batch_size=batch_size, progress=progress))
        summary.elapsed_s = time.monotonic() - t0
        run.finish(summary, read, written)
        return summary
    except BaseException as exc:
        summary.elapsed_s = time.monotonic() - t0
        run.finish(summary, read, written, error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if actors:
            from sciir_dist.engines.ray import release

            release(actors)


def run_row_stage(wh: Warehouse, engine: Engine, stage: Stage, make_stage: Callable[[], Any], version: int,
                  items: list[int] | list[dict], summary: Summary, *, commit_every: int, batch_size: int | None = None,
                  progress: bool = True) -> dict[str, int | None]:
    """Run ``stage`` over ``items`` (row indices of the pinned source version,
    or dicts with an ``index`` and extra per-item columns) and commit."""
    out_schema = stage.output_schema()
    _check_schema(wh, stage.output_table, out_schema)
    wh.ensure(stage.output_table, out_schema)
    wh.ensure("rejects")
    summary.rows_in += len(items)
    source_schema = wh.open(stage.source_table).schema
    blobs = tuple(c for c in stage.inputs if c in blob_columns(source_schema) or c == "image")
    job = TableBatchJob(
        wh=wh, source_table=stage.source_table, source_version=version,
        columns=tuple(c for c in stage.inputs if c not in blobs), blob_columns=blobs,
        output_table=stage.output_table, key=stage.output_key, source_key=stage.key, make_stage=make_stage,
        reject_rows=StageRejects(stage.name), output_schema=out_schema,
        lookups=tuple((n, lk.table, lk.key, lk.column) for n, lk in stage.lookups.items()),
    )
    r = stage.resources
    stream = engine.map_batches(functools.partial(TableBatchWorker, job), batches(items, batch_size or r.batch_size),
                                num_cpus=r.num_cpus, num_gpus=r.num_gpus, concurrency=r.concurrency)
    return _commit_stream(wh, stage, stream, len(items), commit_every, summary, progress, stage.label)


def _check_schema(wh: Warehouse, table: str, schema: pa.Schema) -> None:
    """A stage whose output width depends on its model (embeddings) cannot
    append to a table made by a model of another width."""
    if not wh.exists(table):
        return
    have = wh.open(table).schema
    for f in schema:
        if not pa.types.is_fixed_size_list(f.type) or f.name not in have.names:
            continue
        if have.field(f.name).type != f.type:
            raise ValueError(f"{table}.{f.name} holds {have.field(f.name).type}, this model writes {f.type}: "
                             f"use the model the table was made with, or a fresh warehouse")


def _commit_stream(wh: Warehouse, stage: Stage, outcomes: Iterator[BatchOutcome], total: int, commit_every: int,
                   summary: Summary, progress: bool, label: str) -> dict[str, int | None]:
    """Collect the workers' outcomes and commit them every ``commit_every``
    items: the stage's rejects (one per source row and stage, dropped when the
    row succeeds, replaced when it fails again), then its table (replacing
    rows by output key).

    Two tables, two Lance commits: a kill between them must leave a state the
    next run completes. Rejects go first: a row whose old reject is dropped
    but whose output is not yet committed is simply planned again. The other
    order would strand a retried row's stale reject beside its new output
    (the row is done, so no later run revisits it)."""
    pending = BatchOutcome(items=0)
    written: dict[str, int | None] = {}

    def commit() -> None:
        nonlocal pending
        settled = pending.ok + [item for item, _ in pending.rejected]
        ids = [reject_id_for(stage.name, key, "") for key in settled]
        written["rejects"] = wh.commit_upsert("rejects", pending.fragments.get("rejects", []),
                                              replace_keys={"reject_id": ids})
        written[stage.output_table] = wh.commit_upsert(stage.output_table, pending.fragments.get(stage.output_table, []),
                                                       replace_keys={stage.output_key: pending.done})
        pending = BatchOutcome(items=0)

    with make_progress() as bar:
        task = bar.add_task(label, total=total, visible=progress)
        for out in outcomes:
            pending.absorb(out)
            for _, reason in out.rejected:
                key = f"{stage.name}:{reason}"
                summary.rejected[key] = summary.rejected.get(key, 0) + 1
            bar.advance(task, out.items)
            if pending.items >= commit_every:
                commit()
        commit()
    summary.rows_out[stage.output_table] = wh.count(stage.output_table)
    return written


def _run_global(wh: Warehouse, stage: GlobalStage, summary: Summary) -> dict[str, int | None]:
    """Whole-table stages run on the driver: read, compute, replace every row."""
    out = stage.compute(stage.load(wh))
    wh.ensure(stage.output_table)
    previous = wh.read(stage.output_table, ["panel_id"]).column("panel_id").to_pylist()
    frags = write_fragments(wh, stage.output_table, out)
    version = wh.commit_upsert(stage.output_table, frags, replace_keys={"panel_id": previous + out["panel_id"].to_pylist()})
    summary.rows_in += out.num_rows
    summary.rows_out[stage.output_table] = out.num_rows
    return {stage.output_table: version}


