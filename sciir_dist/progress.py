"""Progress bars and end-of-job summaries (rich), shared by every job."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, TypeVar

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.table import Table

T = TypeVar("T")
console = Console(stderr=True)


def make_progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal and not sys.stderr.isatty(),
    )


@dataclass(frozen=True)
class Bar:
    """One bar over a whole job that several engine calls advance: ingest
    runs in checkpoints, and a bar per engine call would print one line per
    checkpoint and restart its count each time."""

    progress: Progress
    task: TaskID

    def advance(self, n: float = 1) -> None:
        self.progress.advance(self.task, n)


@contextmanager
def job_bar(desc: str, total: int, enabled: bool = True) -> Iterator[Bar]:
    """A bar of ``total`` items, shown while the block runs (hidden unless
    ``enabled``, so callers need no second code path)."""
    with make_progress() as p:
        yield Bar(p, p.add_task(desc, total=total, visible=enabled))


def progress_iter(items: list[T], desc: str, enabled: bool = True) -> Iterator[T]:
    """Yield ``items``, counting each one done when the next is asked for."""
    if not enabled or not items:
        yield from items
        return
    with job_bar(desc or "working", len(items)) as bar:
        for x in items:
            yield x
            bar.advance()


@dataclass
class Summary:
    job: str
    rows_in: int = 0
    rows_out: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    elapsed_s: float = 0.0
    run_id: str = ""

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())

    def render(self, out: Console | None = None) -> None:
        out = out or Console()
        t = Table(title=f"{self.job} summary (run {self.run_id})", show_header=True)
        t.add_column("what")
        t.add_column("count", justify="right")
        t.add_row("inputs", str(self.rows_in))
        if self.skipped:
            t.add_row("inputs unchanged since last run (skipped)", str(self.skipped))
        for k, v in self.rows_out.items():
            t.add_row(f"rows out: {k}", str(v))
        for k, v in sorted(self.rejected.items(), key=lambda kv: -kv[1]):
            t.add_row(f"rejected: {k}", str(v))
        t.add_row("elapsed", f"{self.elapsed_s:.1f} s")
        out.print(t)

    def as_dict(self) -> dict:
        return {
            "job": self.job,
            "run_id": self.run_id,
            "rows_in": self.rows_in,
            "skipped": self.skipped,
            "rows_out": self.rows_out,
            "rejected": self.rejected,
            "elapsed_s": round(self.elapsed_s, 3),
        }

