"""One line per pipeline stage as it finishes: ran (with time), cached, or failed."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console

from shipyard.pipeline.runner import StageEvent, StageStatus

_MARK = {
    StageStatus.RAN: "[green]ran[/]",
    StageStatus.CACHED: "[cyan]cached[/]",
    StageStatus.FAILED: "[red]FAILED[/]",
    StageStatus.SKIPPED: "[dim]skipped (not needed)[/]",
}


def stage_printer(console: Console) -> Callable[[StageEvent], None]:
    def show(event: StageEvent) -> None:
        took = f" {event.seconds:6.2f} s" if event.status in (StageStatus.RAN, StageStatus.FAILED) else ""
        console.print(f"  {event.stage:<10} {_MARK[event.status]}{took}")

    return show
