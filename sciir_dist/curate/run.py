"""The curate driver: the stage registry, and a run of stages in order
(row stages through ``runner``, whole-table stages on the driver), with a
`runs` row and run-wide request budgets."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Callable

from sciir_dist.backends.openai import CallSettings, EndpointSettings
from sciir_dist.engines.ray import start_counter
from sciir_dist.progress import Summary
from sciir_dist.prompts.protocol import DEFAULT as DEFAULT_PROTOCOL
from sciir_dist.runner import run_job
from sciir_dist.stages.base import GlobalStage, Stage
from sciir_dist.stages.annotate import AnnotateStage
from sciir_dist.stages.classify import TAU, ClassifyStage
from sciir_dist.stages.dedup import DEFAULT_K as DEDUP_K, DedupStage
from sciir_dist.stages.discipline import DisciplineStage
from sciir_dist.stages.embed import ClipSettings, EmbedStage
from sciir_dist.stages.filter import FilterStage
from sciir_dist.stages.hash import HashStage
from sciir_dist.warehouse import Warehouse

@dataclass(frozen=True)
class CurateConfig:
    """Model backends of a curate run; None = the offline backend."""

    vision: EndpointSettings | None = None  # filter, classify, annotate (a), (b)
    text: EndpointSettings | None = None  # discipline fallback, annotate (c)
    clip: ClipSettings | None = None  # embed image tower; None = EfficientNet-Lite0
    embed_gpus: float = 1.0  # GPUs per embed actor, when the cluster has GPUs
    dedup_k: int = DEDUP_K
    dedup_cosine: float | None = None  # None: the embedding model's default
    tau: int = TAU
    protocol: str = DEFAULT_PROTOCOL  # what the annotation calls see and their temperatures
    calls: dict[str, CallSettings] = field(default_factory=dict)  # per annotation call: reasoning, sci_rcot, abstract


#: every stage, in pipeline order
STAGES: dict[str, Callable[[CurateConfig], Stage | GlobalStage]] = {
    "hash": lambda cfg: HashStage(),
    "embed": lambda cfg: EmbedStage(cfg.clip, cfg.embed_gpus),
    "dedup": lambda cfg: DedupStage(cfg.dedup_k, cfg.dedup_cosine),
    "filter": lambda cfg: FilterStage(cfg.vision),
    "discipline": lambda cfg: DisciplineStage(cfg.text),
    "classify": lambda cfg: ClassifyStage(cfg.vision, cfg.tau),
    "annotate": lambda cfg: AnnotateStage(cfg.vision, cfg.text, cfg.protocol, cfg.calls),
}


def make_stage(name: str, cfg: CurateConfig) -> Stage | GlobalStage:
    return STAGES[name](cfg)


def run_curate(wh: Warehouse, stages: list[str], *, cfg: CurateConfig = CurateConfig(), address: str | None = None,
               retry_rejects: bool = False,
               commit_every: int = 2000, batch_size: int | None = None, params: dict | None = None,
               progress: bool = True) -> Summary:
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; available: {list(STAGES)}")
    if not wh.exists("panels"):
        raise ValueError(f"no panels table in {wh.root}: run `sciir ingest` first")

    def factories(run_id: str):
        shared, counters = _shared_budgets(cfg, run_id)
        return [functools.partial(STAGES[name], shared) for name in stages], counters

    params = dict(params or {}, stages=stages, vision=cfg.vision.__dict__ if cfg.vision else "offline",
                  text=cfg.text.__dict__ if cfg.text else "offline", clip=cfg.clip.__dict__ if cfg.clip else "offline",
                  protocol=cfg.protocol, calls={k: v.set_fields() for k, v in cfg.calls.items()})
    return run_job(wh, "curate", factories, address=address, retry_rejects=retry_rejects, commit_every=commit_every,
                   batch_size=batch_size, params=params, progress=progress, read_tables=("panels",))


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
