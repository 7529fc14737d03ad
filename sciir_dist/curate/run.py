"""The curate driver: stages by name from the registry
(``sciir_dist.stages.registry``), run in order (row stages through
``runner`` on the chosen engine, whole-table stages on the driver), with a
`runs` row and run-wide request budgets."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any

from sciir_dist.engines.ray import start_counter
from sciir_dist.progress import Summary
from sciir_dist.runner import run_job
from sciir_dist.stages.registry import PIPELINE, Backends, load_builtin, make, stage_class
from sciir_dist.warehouse import Warehouse

load_builtin()
#: the built-in stages, in pipeline order
STAGES = PIPELINE


@dataclass(frozen=True)
class CurateConfig(Backends):
    """Model backends shared by the run's stages (None: the offline backend)
    and each stage's own options ({stage: {option: value}})."""

    options: dict[str, dict[str, Any]] = field(default_factory=dict)


def run_curate(wh: Warehouse, stages: list[str], *, cfg: CurateConfig = CurateConfig(), address: str | None = None,
               retry_rejects: bool = False,
               commit_every: int = 2000, batch_size: int | None = None, params: dict | None = None,
               progress: bool = True, engine: str = "ray") -> Summary:
    """Run ``stages`` in the order given on ``engine`` (ray, spark or local; at
    ``address``, a Ray address or Spark master)."""
    classes = {name: stage_class(name) for name in [*stages, *cfg.options]}  # unknown names fail first
    for name in stages:
        make(classes[name], cfg, cfg.options.get(name))  # so do bad options
    if not wh.exists("panels"):
        raise ValueError(f"no panels table in {wh.root}: run `sciir ingest` first")

    if engine != "ray" and any(s is not None and s.budget is not None for s in (cfg.vision, cfg.text)):
        raise ValueError("a run-wide request budget is a counter every worker shares: it needs --engine ray")

    def factories(run_id: str):
        shared, counters = _shared_budgets(cfg, run_id)
        return [functools.partial(make, classes[name], shared, cfg.options.get(name)) for name in stages], counters

    params = dict(params or {}, stages=stages, vision=cfg.vision.__dict__ if cfg.vision else "offline",
                  text=cfg.text.__dict__ if cfg.text else "offline", options=cfg.options,
                  protocol=cfg.protocol, calls={k: v.set_fields() for k, v in cfg.calls.items()})
    return run_job(wh, "curate", factories, address=address, retry_rejects=retry_rejects, commit_every=commit_every,
                   batch_size=batch_size, params=params, progress=progress, read_tables=("panels",), engine=engine)


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
