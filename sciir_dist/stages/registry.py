"""Stages by name: a stage is one file that registers itself.

``@register`` makes a stage class runnable by name (``sciir curate --stages
NAME``, ``run_curate``), declares its output table when the class carries the
schema (``table_schema``: a plug-in stage keeps its table next to its code;
built-in stages point at ``schemas/tables.py``), and publishes its options.

Options are a pydantic model nested in the stage (``class Options``): each
field's default and description are written once, there, and reach the CLI as
``--<stage>-<option>`` (``--classify-tau 6``), the TOML config as
``<stage>_<option>`` under ``[curate]``, and ``--option STAGE.OPTION=VALUE``
for stages loaded as plug-ins (``--plugin my_stage.py`` or ``SCIIR_PLUGINS``).

A stage is built from the job's shared model backends and its own options
by ``cls.build(backends, options)``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from schemas.tables import register_table


class StageOptions(BaseModel):
    """Base of a stage's options: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Backends:
    """What every model-driven stage of a job shares: endpoints (None: the
    offline backend), the protocol and per-call settings."""

    vision: Any = None  # EndpointSettings: filter, classify, annotate (a), (b)
    text: Any = None  # EndpointSettings: discipline fallback, annotate (c)
    protocol: str = "sciir"
    calls: dict = field(default_factory=dict)  # annotation call -> CallSettings


REGISTRY: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator: see the module docstring."""
    name = cls.name
    known = REGISTRY.get(name)
    if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(f"two stages named {name!r}: {known.__module__} and {cls.__module__}")
    schema = getattr(cls, "table_schema", None)
    if schema is not None:
        register_table(cls.output_table, schema, getattr(cls, "output_key", "panel_id"), panel_stage=True)
    if not hasattr(cls, "Options"):
        cls.Options = StageOptions
    REGISTRY[name] = cls
    return cls


def stage_class(name: str) -> type:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r}; available: {sorted(REGISTRY)} "
                         f"(a plug-in stage's file is loaded with --plugin)") from None


def make(cls: type, backends: Backends, options: dict[str, Any] | None = None):
    """A stage instance from its class, the job's backends and its option
    values. Workers get this with the class itself (a plug-in's class travels
    by value), not a name their registry may not hold."""
    try:
        opts = cls.Options(**(options or {}))
    except ValueError as exc:
        raise ValueError(f"options of stage {cls.name}: {exc}") from None
    return cls.build(backends, opts)


def option_fields() -> list[tuple[str, str, Any]]:
    """(stage, option, pydantic field) of every registered stage, for the CLI."""
    return [(name, opt, f) for name, cls in REGISTRY.items() for opt, f in cls.Options.model_fields.items()]


def parse_options(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``STAGE.OPTION=VALUE`` strings -> {stage: {option: value}}; values are
    read as TOML scalars (0.3, 6, true, "x"), else kept as strings."""
    from sciir_dist.toml_values import scalar

    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        stage, dot, opt = key.strip().partition(".")
        if not sep or not dot or not stage or not opt:
            raise ValueError(f"--option expects STAGE.OPTION=VALUE, got {item!r}")
        out.setdefault(stage, {})[opt.replace("-", "_")] = scalar(value.strip())
    return out


def load_plugins(specs: list[str] | None = None) -> list[str]:
    """Import stage files or modules (paths, or dotted names on sys.path);
    their ``@register`` runs on import. ``specs`` default: $SCIIR_PLUGINS
    (separated by the OS path separator)."""
    if specs is None:
        specs = [s for s in os.environ.get("SCIIR_PLUGINS", "").split(os.pathsep) if s]
    loaded = []
    for spec in specs:
        path = Path(spec)
        if path.suffix == ".py":
            if not path.is_file():
                raise ValueError(f"plug-in {spec}: no such file")
            name = f"sciir_plugin_{path.stem}"
            module_spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(spec)
        _ship_by_value(module)
        loaded.append(spec)
    return loaded


def _ship_by_value(module) -> None:
    """Workers (Spark tasks, Ray actors) may not have the plug-in's file on
    their path: its classes travel pickled by value."""
    for pickler in ("ray.cloudpickle", "pyspark.cloudpickle", "cloudpickle"):
        try:
            importlib.import_module(pickler).register_pickle_by_value(module)
        except (ImportError, AttributeError, ValueError):
            continue


#: the built-in stages, in pipeline order; each lives in sciir_dist/stages/<name>.py
PIPELINE: tuple[str, ...] = ("hash", "embed", "dedup", "filter", "discipline", "classify", "annotate")


def load_builtin() -> None:
    """Import the built-in stages, so that they register."""
    for name in PIPELINE:
        importlib.import_module(f"sciir_dist.stages.{name}")
