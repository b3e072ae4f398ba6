"""Render reports, stage progress and registry listings in the terminal with rich."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from shipyard.core.results import CheckResult, Report, Status

_STATUS_STYLE = {Status.PASSED: "green", Status.FAILED: "red", Status.SKIPPED: "yellow"}


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    return str(value)


def _status_cell(result: CheckResult) -> str:
    label = result.status.value.upper()
    if result.status is Status.FAILED and not result.blocking:
        return "[yellow]WARN[/]"
    return f"[{_STATUS_STYLE[result.status]}]{label}[/]"


def render_report(console: Console, report: Report, *, title: str | None = None) -> None:
    """Headline, then one row per result: status, check, subject and the message with its numbers.

    Observed and expected values are in each message; the JSON report keeps them as fields.
    """
    table = Table(title=title or report.kind.capitalize(), title_justify="left", expand=False)
    table.add_column("status", no_wrap=True)
    table.add_column("check", overflow="fold", max_width=24)
    table.add_column("subject", overflow="fold", max_width=24)
    table.add_column("message", overflow="fold", ratio=1)
    for result in report.results:
        table.add_row(_status_cell(result), result.check, result.subject, result.message)
    console.print(table)
    style = "green" if report.passed else "red"
    console.print(f"[bold {style}]{report.headline()}[/]")


def render_metrics(console: Console, metrics: Mapping[str, Any], *, title: str) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("name")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        table.add_row(name, _format(value))
    console.print(table)


def render_rows(
    console: Console, rows: Iterable[Mapping[str, Any]], columns: list[str], *, title: str
) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, min_width=min(len(column), 9), overflow="fold")
    for row in rows:
        table.add_row(*(_format(row.get(c)) for c in columns))
    console.print(table)


def render_slices(
    console: Console, slices: Mapping[str, Mapping[str, Mapping[str, Any]]], metrics: list[str]
) -> None:
    """One table per slice column: each value's row count and the first few metrics."""
    for column, values in slices.items():
        shown = [m for m in metrics if any(m in row for row in values.values())][:3]
        rows = [{"value": value, **row} for value, row in values.items()]
        render_rows(console, rows, ["value", "count", *shown], title=f"Slices by {column}")
