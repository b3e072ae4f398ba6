"""`shipyard monitor drift` and `shipyard monitor performance`: is live data still like training data,
and is the model still as good as it was offline?"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipyard.cli._common import ProjectOption, console, load_project

if TYPE_CHECKING:
    from shipyard.config.project import Project
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
        Path | None, typer.Option(help="Current data file (Parquet/CSV); default the prediction log.")
    ] = None,
    reference: Annotated[
        Path | None,
        typer.Option(help="Reference data file (exact statistics) or profile JSON; default the version's."),
    ] = None,
    version: VersionOption = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
    html_path: Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")] = None,
    project: ProjectOption = Path("."),
) -> None:
    """Compare live inputs and scores with the training profile; exit 1 on drift."""
    from shipyard.errors import ConfigError
    from shipyard.monitoring.engine import detect_drift
    from shipyard.monitoring.report import write_html, write_json
    from shipyard.monitoring.sources import PredictionLogSource, open_source
    from shipyard.serving.predlog import prediction_log_dir

    proj = load_project(project)
    config = proj.policy.monitoring
    if reference is not None and version is not None:
        raise ConfigError("Give either --reference FILE or --version V, not both.")
    ref = _reference(proj, reference, version)
    if current is not None:
        source: Any = open_source(current)
    else:
        log = prediction_log_dir(proj.root)
        source = PredictionLogSource.last(log, window or config.window)
        if not source.has_files:
            raise ConfigError(
                f"The prediction log {log} holds no predictions yet. Serve the model with "
                "'shipyard serve' (it logs every scored row), or pass --current FILE."
            )
    report = detect_drift(ref, source, config, exclude=(proj.policy.data.target,))
    if report.empty:
        raise ConfigError(
            f"No rows to compare in {source.description}. Widen --window, or pass --current FILE."
        )
    _render(report)
    out = proj.state_dir / "monitoring"
    json_path, html_path = json_path or out / "drift.json", html_path or out / "drift.html"
    for path in (json_path, html_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    write_json(report, json_path)
    write_html(report, html_path)
    console.print(f"Wrote {json_path} and {html_path}")
    report.to_report().raise_for_status()


def _reference(proj: Project, reference: Path | None, version: str | None) -> Any:
    """A profile (stored with the version, or a JSON file) or reference data for exact statistics."""
    from shipyard.data.profile import Profile
    from shipyard.errors import ConfigError, ModelVersionNotFound, RegistryError

    if reference is not None:
        if reference.suffix.lower() == ".json":
            if not reference.is_file():
                raise ConfigError(f"--reference: no such file: {reference}")
            return Profile.from_json(reference.read_text())
        return reference
    from shipyard.api import open_registry

    ref = version or "production"
    registry = open_registry(proj)
    info = registry.get(ref)
    try:
        return Profile.from_json(registry.report_text(info.version, "profile.json"))
    except ModelVersionNotFound:
        raise
    except RegistryError:
        raise ConfigError(
            f"Version {info.version} ({ref}) has no stored profile.json (it was registered before "
            "Shipyard stored drift profiles). Register it again with 'shipyard run', or pass "
            "--reference FILE with its training data."
        ) from None


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
        f"Current: {report.current} ({report.current_rows:,} rows)."
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

    proj = load_project(project)
    windows, alerts, rows, report = _evaluate_performance(proj, window, version)

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


def _evaluate_performance(
    proj: Project, window: str | None, version: str | None
) -> tuple[Any, Any, int, Any]:
    """Join the prediction log with feedback over the window; run the detectors and rolling metrics."""
    import numpy as np

    from shipyard.core.results import CheckResult, Reason, Report, Status
    from shipyard.errors import ConfigError
    from shipyard.evaluation.metrics import default_metrics
    from shipyard.evaluation.outputs import ModelOutputs
    from shipyard.monitoring.concept import detect_changes, error_stream, rolling_metrics
    from shipyard.monitoring.sources import parse_window, read_labelled
    from shipyard.serving.predlog import feedback_dir, prediction_log_dir

    policy, config = proj.policy, proj.policy.monitoring
    span = window or config.window
    end = datetime.now(UTC)
    frame = read_labelled(
        prediction_log_dir(proj.root), feedback_dir(proj.root), end - parse_window(span), end
    )
    if frame.empty:
        raise ConfigError(
            f"No labelled predictions in the last {span}: the prediction log has no production rows "
            "with feedback. Send labels with POST /feedback (request_id, row, label), or widen --window."
        )
    timestamps = [t.to_pydatetime() for t in frame["ts"]]
    if policy.task == "regression":
        y_true = frame["label"].astype(float).to_numpy()
        outputs = ModelOutputs(frame["prediction"].astype(float).to_numpy())
    else:
        y_true = frame["label"].astype(str).to_numpy()
        proba = [c for c in frame.columns if c.startswith("proba_")]
        score = frame[proba].to_numpy(dtype=np.float64) if proba else None
        classes = tuple(c.removeprefix("proba_") for c in proba)
        outputs = ModelOutputs(frame["prediction"].astype(str).to_numpy(), score, classes)
    offline = _offline_metrics(proj, version)
    metrics = [m for m in (policy.metrics or default_metrics(policy.task)) if m in offline]
    alerts = detect_changes(error_stream(policy.task, y_true, outputs.y_pred), config.concept, timestamps)
    windows, metric_alerts = rolling_metrics(
        policy.task, y_true, outputs, offline, metrics, config.concept, timestamps
    )
    alerts = sorted([*alerts, *metric_alerts], key=lambda a: a.index)
    results = [
        CheckResult(
            "concept_drift",
            Status.FAILED,
            a.message,
            subject=a.detector,
            reason=Reason.METRIC_DROP if a.detector.startswith("rolling_") else Reason.CONCEPT_DRIFT,
            evidence=a.to_dict(),
        )
        for a in alerts
    ] or [CheckResult("concept_drift", Status.PASSED, f"no alert on {len(frame)} labelled predictions")]
    return windows, alerts, len(frame), Report.of("performance checks", results)


def _offline_metrics(proj: Project, version: str | None) -> dict[str, float]:
    """The version's offline test metrics (from its evaluation.json); {} when there is no production."""
    import json

    from shipyard.api import open_registry
    from shipyard.errors import ModelVersionNotFound

    registry = open_registry(proj)
    try:
        info = registry.get(version or "production")
    except ModelVersionNotFound:
        if version is not None:
            raise
        return {}
    metrics = json.loads(registry.report_text(info.version, "evaluation.json")).get("metrics", {})
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
