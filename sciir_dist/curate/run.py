"""The curate driver: for each stage, find panels without its output (an
anti-join on panel_id against a pinned ``panels`` version), run the stage on
Ray, and commit its output table and rejects at checkpoints."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc

from schemas.tables import blob_columns
from sciir_dist.engines.ray import RayEngine, TableBatchJob
from sciir_dist.ingest.model import reject_id_for
from sciir_dist.progress import Summary, make_progress
from sciir_dist.runs import RunRecorder
from sciir_dist.stages.base import GlobalStage, Stage, StageResult
from sciir_dist.stages.dedup import DedupStage
from sciir_dist.backends.openai import EndpointSettings
from sciir_dist.stages.filter import FilterStage
from sciir_dist.stages.hash import HashStage
from sciir_dist.warehouse import Warehouse, write_fragments

@dataclass(frozen=True)
class CurateConfig:
    """Model backends of a curate run; None = the offline backend."""

    vision: EndpointSettings | None = None


STAGES: dict[str, Callable[[CurateConfig], Stage | GlobalStage]] = {
    "hash": lambda cfg: HashStage(),
    "dedup": lambda cfg: DedupStage(),
    "filter": lambda cfg: FilterStage(cfg.vision),
}


def make_stage(name: str, cfg: CurateConfig) -> Stage | GlobalStage:
    return STAGES[name](cfg)


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
    """(pinned panels version, row indices of the panels to process)."""
    panels = wh.open("panels")
    keys = panels.to_table(columns=["panel_id"]).column("panel_id")
    done = wh.read(stage.output_table, ["panel_id"]).column("panel_id") if wh.exists(stage.output_table) else pa.array([], pa.string())
    skip = pc.is_in(keys, value_set=pa.chunked_array([done], pa.string()).combine_chunks())
    if not retry_rejects:
        rejected = wh.read("rejects", ["item"], where=f"stage = '{stage.name}'").column("item")
        skip = pc.or_(skip, pc.is_in(keys, value_set=rejected.combine_chunks()))
    todo = pc.indices_nonzero(pc.invert(skip))
    return panels.version, todo.to_pylist()


def run_curate(wh: Warehouse, stages: list[str], *, cfg: CurateConfig = CurateConfig(), address: str | None = None,
               retry_rejects: bool = False,
               commit_every: int = 2000, batch_size: int | None = None, params: dict | None = None,
               progress: bool = True) -> Summary:
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; available: {list(STAGES)}")
    if not wh.exists("panels"):
        raise ValueError(f"no panels table in {wh.root}: run `sciir ingest` first")
    t0 = time.monotonic()
    engine = RayEngine(address)
    run = RunRecorder(wh, "curate", engine.name, dict(params or {}, stages=stages, retry_rejects=retry_rejects,
                                                      vision=cfg.vision.__dict__ if cfg.vision else "offline"))
    summary = Summary(job="curate", run_id=run.run_id)
    read = {"panels": wh.version("panels")}
    written: dict[str, int | None] = {}
    try:
        for name in stages:
            stage = make_stage(name, cfg)
            if isinstance(stage, GlobalStage):
                written.update(_run_global(wh, stage, summary))
                continue
            wh.ensure(stage.output_table)
            wh.ensure("rejects")
            version, indices = plan(wh, stage, retry_rejects)
            summary.rows_in += len(indices)
            blobs = tuple(c for c in stage.inputs if c in blob_columns(wh.open("panels").schema) or c == "image")
            job = TableBatchJob(
                wh=wh, source_table="panels", source_version=version,
                columns=tuple(c for c in stage.inputs if c not in blobs), blob_columns=blobs,
                output_table=stage.output_table, key="panel_id", make_worker=functools.partial(STAGES[name], cfg),
                reject_rows=StageRejects(name),
            )
            r = stage.resources
            items = engine.map_table(job, indices, batch_size=batch_size or r.batch_size, num_cpus=r.num_cpus,
                                     num_gpus=r.num_gpus, concurrency=r.concurrency)
            written.update(_commit_stream(wh, stage, items, len(indices), commit_every, summary, progress))
        summary.elapsed_s = time.monotonic() - t0
        run.finish(summary, read, written)
        return summary
    except BaseException as exc:
        summary.elapsed_s = time.monotonic() - t0
        run.finish(summary, read, written, error=f"{type(exc).__name__}: {exc}")
        raise


def _run_global(wh: Warehouse, stage: GlobalStage, summary: Summary) -> dict[str, int | None]:
    """Whole-table stages run on the driver: read, compute, replace every row."""
    missing = [t for t in stage.requires if not wh.exists(t)]
    if missing:
        raise ValueError(f"stage {stage.name} needs {missing}: run the stages that write them first")
    out = stage.compute({t: wh.read(t, list(cols)) for t, cols in stage.requires.items()})
    wh.ensure(stage.output_table)
    previous = wh.read(stage.output_table, ["panel_id"]).column("panel_id").to_pylist()
    frags = write_fragments(wh, stage.output_table, out)
    version = wh.commit_upsert(stage.output_table, frags, replace_keys={"panel_id": previous + out["panel_id"].to_pylist()})
    summary.rows_in += out.num_rows
    summary.rows_out[stage.output_table] = out.num_rows
    return {stage.output_table: version}


def _commit_stream(wh: Warehouse, stage: Stage, items, total: int, commit_every: int, summary: Summary,
                   progress: bool) -> dict[str, int | None]:
    """Collect the actors' fragments and commit them every ``commit_every``
    rows: the stage's table (replacing by panel_id) and its rejects (one per
    panel and stage, replaced when the panel succeeds or fails again)."""
    pending: dict[str, list[str]] = {"output": [], "rejects": [], "done": [], "rejected": []}
    written: dict[str, int | None] = {}
    since = 0

    def commit() -> None:
        ids = [reject_id_for(stage.name, pid, "") for pid in pending["done"] + pending["rejected"]]
        written[stage.output_table] = wh.commit_upsert(stage.output_table, pending["output"],
                                                       replace_keys={"panel_id": pending["done"]})
        written["rejects"] = wh.commit_upsert("rejects", pending["rejects"], replace_keys={"reject_id": ids})
        for v in pending.values():
            v.clear()

    with make_progress() as bar:
        task = bar.add_task(f"stage {stage.name}", total=total, visible=progress)
        for kind, payload in items:
            if kind == "rejected":
                pid, reason = payload.split("\t", 1)
                pending["rejected"].append(pid)
                key = f"{stage.name}:{reason}"
                summary.rejected[key] = summary.rejected.get(key, 0) + 1
            elif kind == "batch":
                since += int(payload)
                bar.advance(task, int(payload))
                if since >= commit_every:
                    commit()
                    since = 0
            else:
                pending[kind].append(payload)
        commit()
    summary.rows_out[stage.output_table] = wh.count(stage.output_table)
    return written
