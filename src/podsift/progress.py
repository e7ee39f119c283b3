"""Progress reporting for long work: one bar per stage on a terminal, nothing in tests or pipes."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Reporter:
    """Silent progress: the interface the pipeline calls, and what tests use."""

    def start(self, stage: str, total: float | None, unit: str = "") -> None:
        """Open a bar for a stage; `total` None means unknown. Starting a stage again (a scan that
        goes round again while it waits for another) adds to its bar."""

    def advance(self, stage: str, amount: float = 1) -> None:
        """Move a stage's bar on."""

    def grow(self, stage: str, amount: float) -> None:
        """Add work to a stage whose total was not known at the start."""

    def note(self, message: str) -> None:
        """A line worth keeping above the bars (a failure, a warning)."""

    def close(self) -> None:
        """Finish drawing."""


class RichReporter(Reporter):
    """Rich progress bars on stderr, one per stage."""

    def __init__(self, console: Console):
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.description:<14}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, int] = {}
        self.progress.start()

    def start(self, stage: str, total: float | None, unit: str = "") -> None:
        if stage in self.tasks:
            self.grow(stage, total or 0)
            return
        label = f"{stage} ({unit})" if unit else stage
        self.tasks[stage] = self.progress.add_task(label, total=total)

    def advance(self, stage: str, amount: float = 1) -> None:
        if stage in self.tasks:
            self.progress.advance(self.tasks[stage], amount)

    def grow(self, stage: str, amount: float) -> None:
        if stage in self.tasks:
            task = self.progress.tasks[self.tasks[stage]]
            self.progress.update(self.tasks[stage], total=(task.total or 0) + amount)

    def note(self, message: str) -> None:
        self.progress.console.print(message, markup=False, highlight=False)

    def close(self) -> None:
        self.progress.stop()
