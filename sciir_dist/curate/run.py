"""The curate driver: for each stage, find panels without its output (an
anti-join on panel_id against a pinned ``panels`` version), run the stage on
Ray, and commit its output table and rejects at checkpoints."""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc

from schemas.tables import blob_columns
from sciir_dist.engines.ray import RayEngine, TableBatchJob, start_counter
from sciir_dist.ingest.model import reject_id_for
from sciir_dist.progress import Summary, make_progress
from sciir_dist.runs import RunRecorder
from sciir_dist.stages.base import GlobalStage, Stage, StageResult
from sciir_dist.backends.openai import EndpointSettings
from sciir_dist.stages.annotate import AnnotateStage
from sciir_dist.stages.classify import TAU, ClassifyStage
from sciir_dist.stages.dedup import DEFAULT_COSINE as DEDUP_COSINE, DEFAULT_K as DEDUP_K, DedupStage
from sciir_dist.stages.discipline import DisciplineStage
from sciir_dist.stages.embed import ClipSettings, EmbedStage
from sciir_dist.stages.filter import FilterStage
from sciir_dist.stages.hash import HashStage
from sciir_dist.warehouse import Warehouse, write_fragments

@dataclass(frozen=True)
class CurateConfig:
    """Model backends of a curate run; None = the offline backend."""

    vision: EndpointSettings | None = None  # filter, classify, annotate (a), (b)
    text: EndpointSettings | None = None  # discipline fallback, annotate (c)
    clip: ClipSettings | None = None  # embed image tower; None = EfficientNet-Lite0
    embed_gpus: float = 1.0  # GPUs per embed actor, when the cluster has GPUs
    dedup_k: int = DEDUP_K
    dedup_cosine: float = DEDUP_COSINE
    tau: int = TAU


#: every stage, in pipeline order
STAGES: dict[str, Callable[[CurateConfig], Stage | GlobalStage]] = {
    "hash": lambda cfg: HashStage(),
    "embed": lambda cfg: EmbedStage(cfg.clip, cfg.embed_gpus),
    "dedup": lambda cfg: DedupStage(cfg.dedup_k, cfg.dedup_cosine),
    "filter": lambda cfg: FilterStage(cfg.vision),
    "discipline": lambda cfg: DisciplineStage(cfg.text),
    "classify": lambda cfg: ClassifyStage(cfg.vision, cfg.tau),
    "annotate": lambda cfg: AnnotateStage(cfg.vision, cfg.text),
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
        rejected = wh.read("rejects", ["item"], where=f"stage = '{stage.name}'").column("item").combine_chunks()
        skip = pc.or_(skip, pc.is_in(keys, value_set=rejected))
    for table, where in stage.requires.items():
        skip = pc.or_(skip, pc.invert(pc.is_in(keys, value_set=key_set(table, where))))
    todo = pc.indices_nonzero(pc.invert(skip))
    return source.version, todo.to_pylist()


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
                                                      vision=cfg.vision.__dict__ if cfg.vision else "offline",
                                                      text=cfg.text.__dict__ if cfg.text else "offline",
                                                      clip=cfg.clip.__dict__ if cfg.clip else "offline"))
    summary = Summary(job="curate", run_id=run.run_id)
    cfg, counters = _shared_budgets(cfg, run.run_id)
    read = {"panels": wh.version("panels")}
    written: dict[str, int | None] = {}
    try:
        for name in stages:
            stage = make_stage(name, cfg)
            if isinstance(stage, GlobalStage):
                written.update(_run_global(wh, stage, summary))
                continue
            out_schema = stage.output_schema()
            _check_schema(wh, stage.output_table, out_schema)
            wh.ensure(stage.output_table, out_schema)
            wh.ensure("rejects")
            version, indices = plan(wh, stage, retry_rejects)
            summary.rows_in += len(indices)
            source_schema = wh.open(stage.source_table).schema
            blobs = tuple(c for c in stage.inputs if c in blob_columns(source_schema) or c == "image")
            job = TableBatchJob(
                wh=wh, source_table=stage.source_table, source_version=version,
                columns=tuple(c for c in stage.inputs if c not in blobs), blob_columns=blobs,
                output_table=stage.output_table, key=stage.key, make_worker=functools.partial(STAGES[name], cfg),
                reject_rows=StageRejects(name), output_schema=out_schema,
                lookups=tuple((n, lk.table, lk.key, lk.column) for n, lk in stage.lookups.items()),
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
    finally:
        engine.release(counters)


def _shared_budgets(cfg: CurateConfig, run_id: str) -> tuple[CurateConfig, list]:
    """One budget counter actor per model role with a budget, so the budget
    holds for the whole run however many actors ask."""
    counters, changes = [], {}
    for role in ("vision", "text"):
        settings = getattr(cfg, role)
        if settings is not None and settings.budget is not None:
            name = f"sciir-budget-{run_id}-{role}"
            counters.append(start_counter(name, settings.budget))
            changes[role] = dataclasses.replace(settings, budget_counter=name)
    return dataclasses.replace(cfg, **changes), counters


def _check_schema(wh: Warehouse, table: str, schema: pa.Schema) -> None:
    """A stage whose output width depends on its model (embeddings) cannot
    append to a table made by a model of another width."""
    if not wh.exists(table):
        return
    have = wh.open(table).schema
    for f in schema:
        if f.name in have.names and have.field(f.name).type != f.type:
            raise ValueError(f"{table}.{f.name} holds {have.field(f.name).type}, this model writes {f.type}: "
                             f"use the model the table was made with, or a fresh warehouse")


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
                                                       replace_keys={stage.key: pending["done"]})
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
