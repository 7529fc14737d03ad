"""The stage contract (SPEC §1, §4).

A stage declares the panel columns it reads (``inputs``; blob columns such as
``image`` arrive as bytes), the table it writes (``output_table``, keyed by
``panel_id``, schema in ``schemas/tables.py``) and the resources one worker
needs. ``process`` maps an Arrow table of input rows to output rows plus
rejects; it knows nothing about Ray, Spark or Lance, so tests and notebooks
call it directly.

Outputs live in per-stage tables rather than as new columns of ``panels``:
adding columns is a Lance ``Merge`` commit, which conflicts with an ingest
appending panels at the same time; appending to a stage's own table does not.
``sciir query panels`` joins them back together.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import pyarrow as pa


@dataclass(frozen=True)
class Resources:
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    batch_size: int = 64
    #: max actors; None = as many as the cluster's CPUs allow
    concurrency: int | None = None


@dataclass
class StageResult:
    rows: pa.Table
    #: (panel_id, reason, detail) for inputs the stage could not process
    rejects: list[tuple[str, str, str]] = field(default_factory=list)


class Stage(ABC):
    name: ClassVar[str]
    output_table: ClassVar[str]
    inputs: ClassVar[tuple[str, ...]]
    resources: Resources = Resources()

    def setup(self) -> None:
        """Load models once per worker (an actor's constructor calls it)."""

    @abstractmethod
    def process(self, batch: pa.Table) -> StageResult: ...


class GlobalStage(ABC):
    """A stage that needs every panel at once (e.g. dedup clusters). It reads
    whole tables (``requires``: table -> columns) and returns the full output
    table, which replaces the previous one row by row."""

    name: ClassVar[str]
    output_table: ClassVar[str]
    requires: ClassVar[dict[str, tuple[str, ...]]]

    @abstractmethod
    def compute(self, tables: dict[str, pa.Table]) -> pa.Table: ...
