"""The stage contract (SPEC §1, §4).

A stage declares the panel columns it reads (``inputs``; blob columns such as
``image`` arrive as bytes), the table it writes (``output_table``, keyed by
``panel_id``; its schema in ``schemas/tables.py``, or ``table_schema`` on the
class for a plug-in stage), its options and the resources one worker needs,
and registers itself by name (``stages.registry``). ``process`` maps an Arrow table of input rows to output rows plus
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
from typing import Any, ClassVar

import pyarrow as pa

from schemas.tables import schema_of


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


@dataclass(frozen=True)
class Lookup:
    """A column from another table, joined onto each batch by key: the batch's
    ``key`` column matches the same-named key column of ``table``."""

    table: str
    key: str
    column: str


class Stage(ABC):
    name: ClassVar[str]
    output_table: ClassVar[str]
    inputs: ClassVar[tuple[str, ...]]
    #: the table whose rows the stage maps (one output row per input row)
    source_table: ClassVar[str] = "panels"
    key: ClassVar[str] = "panel_id"  # of the source rows; output rows carry it too
    #: key of the output rows when a source row yields several (verdicts per generation)
    output_key: ClassVar[str] = "panel_id"
    #: batch column name -> where to look it up (captions, article text, labels)
    lookups: ClassVar[dict[str, Lookup]] = {}
    #: a row qualifies only if each table holds a row for its key matching the
    #: SQL filter (e.g. classify only panels the filter kept)
    requires: ClassVar[dict[str, str]] = {}
    resources: Resources = Resources()
    #: the output table's schema when the stage declares its own table (plug-ins)
    table_schema: ClassVar[pa.Schema | None] = None

    @classmethod
    def build(cls, backends, options) -> "Stage":
        """The stage of a job, from the job's shared model backends
        (``registry.Backends``) and the stage's ``Options``."""
        return cls()

    def output_schema(self) -> pa.Schema:
        return self.table_schema if self.table_schema is not None else schema_of(self.output_table)

    @property
    def label(self) -> str:
        return f"stage {self.name}"

    def plan(self, wh, retry_rejects: bool) -> tuple[int, list] | None:
        """Override to choose the work items yourself (row indices of a pinned
        source version, or dicts with an ``index`` and extra columns); None:
        the rows without (done) output that meet ``requires``."""
        return None

    def done_filter(self) -> str | None:
        """Output rows that count as done (None: any row). Lets a changed
        model redo rows written by another one."""
        return None

    def setup(self) -> None:
        """Load models once per worker (an actor's constructor calls it)."""

    @abstractmethod
    def process(self, batch: pa.Table) -> StageResult: ...


class GlobalStage(ABC):
    """A stage that needs every panel at once (e.g. dedup clusters). ``load``
    gathers its inputs (by default the ``requires`` columns of whole tables);
    ``compute`` is pure and returns the full output table, which replaces the
    previous one row by row."""

    name: ClassVar[str]
    output_table: ClassVar[str]
    requires: ClassVar[dict[str, tuple[str, ...]]]
    table_schema: ClassVar[pa.Schema | None] = None

    @classmethod
    def build(cls, backends, options) -> "GlobalStage":
        return cls()

    def load(self, wh) -> dict[str, Any]:
        missing = [t for t in self.requires if not wh.exists(t)]
        if missing:
            raise ValueError(f"stage {self.name} needs {missing}: run the stages that write them first")
        return {t: wh.read(t, list(cols)) for t, cols in self.requires.items()}

    @abstractmethod
    def compute(self, inputs: dict[str, Any]) -> pa.Table: ...
