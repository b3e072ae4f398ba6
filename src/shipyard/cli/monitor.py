"""`shipyard monitor drift` and `shipyard monitor performance`: is live data still like training data,
and is the model still as good as it was offline?"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipyard.cli._common import ProjectOption, console, open_workspace

if TYPE_CHECKING:
    from shipyard.monitoring.verdicts import DriftReport

monitor_app = typer.Typer(
    help="Drift of live data and live performance of the served model.", no_args_is_help=True
)

WindowOption = Annotated[str | None, typer.Option(help="How far back the logs are read (30m, 24h, 7d, 2w).")]
VersionOption = Annotated[
    str | None, typer.Option(help="Registered version or alias to compare with; default production.")
]


@monitor_app.command("drift")
def drift(
    window: WindowOption = None,
    current: Annotated[
        str | None,
        typer.Option(
            help="Current data: a Parquet/CSV file, or a folder or s3:// prefix of Parquet partitions; "
            "default the prediction log."
        ),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            help="Reference data: a file or folder (exact statistics), an s3:// prefix of Parquet "
            "partitions (profiled), or profile JSON; default the version's stored profile."
        ),
    ] = None,
    version: VersionOption = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
    html_path: Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")] = None,
    executor: Annotated[
        str | None, typer.Option(help="Where partitions are summarised: local or ray; default the policy's.")
    ] = None,
    project: ProjectOption = Path("."),
) -> None:
    """Compare live inputs and scores with the training profile; exit 1 on drift, 2 on too few rows."""
    from shipyard.api import live_drift
    from shipyard.monitoring.report import write_html, write_json

    workspace = open_workspace(project)
    report = live_drift(
        workspace, window=window, current=current, reference=reference, version=version, executor=executor
    )
    _render(report)
    out = workspace.monitoring_dir
    json_path, html_path = json_path or out / "drift.json", html_path or out / "drift.html"
    for path in (json_path, html_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    write_json(report, json_path)
    write_html(report, html_path)
    console.print(f"Wrote {json_path} and {html_path}")
    if report.too_few_rows:  # neither a pass nor a fail: its own verdict, exit 2
        from shipyard.cli.exit_codes import ExitCode

        console.print(f"[yellow]Too few rows[/]: {report.too_few_rows_message()}")
        raise typer.Exit(ExitCode.USAGE_ERROR)
    report.to_report().raise_for_status()


def _render(report: DriftReport) -> None:
    from rich.table import Table

    from shipyard.monitoring.verdicts import thresholds_for

    config = report.config
    table = Table(title=f"Drift: {report.to_report().headline()}")
    for name in ("feature", "kind", "test", "statistic", "threshold", "p-adj", "verdict"):
        table.add_column(name, justify="right" if name in ("statistic", "threshold", "p-adj") else "left")
    for feature in report.features:
        test, statistic, limit = _deciding(feature, thresholds_for(config, feature.name))
        verdict = (
            feature.status
            if feature.status != "tested"
            else ("[red]drift[/]" if feature.drifted else "[green]ok[/]")
        )
        p_adj = "" if feature.p_adjusted is None else f"{feature.p_adjusted:.2g}"
        table.add_row(feature.name, feature.kind, test, statistic, limit, p_adj, verdict)
    console.print(table)
    summary = report.summary()
    console.print(
        f"{len(summary['columns_drifted'])} of {summary['columns_tested']} columns drifted "
        f"({summary['drifted_share']:.0%}; dataset drift at {report.drift_share:.0%}): "
        f"{'[red]dataset drift[/]' if report.dataset_drift else 'no dataset drift'}. "
        f"Current: {report.current} ({report.current_rows:,} rows). Verdict: {report.verdict}."
    )


def _deciding(feature: Any, thresholds: Any) -> tuple[str, str, str]:
    """The test closest to (or furthest past) its threshold."""
    from shipyard.monitoring.verdicts import EFFECT_SIZES

    best = ("", "", "", -1.0)
    for name in EFFECT_SIZES:
        result, limit = feature.results.get(name), getattr(thresholds, name)
        if result is None or limit is None:
            continue
        ratio = result.statistic / limit if limit else float("inf")
        if ratio > best[3]:
            best = (name, f"{result.statistic:.4g}", f"{limit:g}", ratio)
    return best[:3]


@monitor_app.command("performance")
def performance(
    window: WindowOption = None,
    version: VersionOption = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write windows and alerts here.")] = None,
    project: ProjectOption = Path("."),
) -> None:
    """Rolling metrics on labelled predictions vs offline, ADWIN and Page-Hinkley; exit 1 on an alert."""
    import json

    from rich.table import Table

    from shipyard.api import live_performance

    result = live_performance(open_workspace(project), window=window, version=version)
    windows, alerts, rows, report = result.windows, result.alerts, result.rows, result.report

    table = Table(title=f"Rolling metrics on {rows:,} labelled predictions")
    for name in ("rows", "metric", "value", "offline", "worse by", "until"):
        table.add_column(name)
    for w in windows:
        table.add_row(
            f"{w.start}..{w.end - 1}",
            w.metric,
            f"{w.value:.4g}",
            "" if w.offline is None else f"{w.offline:.4g}",
            "" if w.drop is None else f"{w.drop:.3g}",
            "" if w.at is None else f"{w.at:%Y-%m-%d %H:%M}",
        )
    console.print(table)
    for alert in alerts:
        console.print(f"[red]ALERT[/] {alert.message}")
    if not alerts:
        console.print("No concept drift: no detector alarm and no metric window below offline.")
    if json_path is not None:
        payload = {
            "rows": rows,
            "windows": [w.__dict__ for w in windows],
            "alerts": [a.to_dict() for a in alerts],
        }
        json_path.write_text(json.dumps(payload, indent=2, default=str))
    report.raise_for_status()
