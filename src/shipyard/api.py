"""Project-level operations behind the CLI, usable from Python as they are.

Each takes the project's `Workspace` (`Workspace.open(Project.load(root))`, built once by the
caller: the project is `workspace.project`, its registry and logs are the workspace's) and
returns data; rendering is the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.results import Report
from shipyard.errors import ConfigError
from shipyard.pipeline.run import RunOutcome, SmokeOutcome, run_pipeline, run_smoke

if TYPE_CHECKING:
    from shipyard.data.partitions import Executor
    from shipyard.data.schema import Schema
    from shipyard.monitoring.verdicts import DriftReport
    from shipyard.pipeline.context import RunContext
    from shipyard.workspace import Workspace

__all__ = [
    "LivePerformance",
    "RunOutcome",
    "SmokeOutcome",
    "check_environment",
    "history_rows",
    "infer_project_schema",
    "live_drift",
    "live_performance",
    "model_requirements",
    "run_pipeline",
    "run_smoke",
    "validate_project_data",
    "version_at",
    "version_rows",
]


def _context(workspace: Workspace, data: Path | None) -> RunContext:
    """A run context reading `data` if given, else the project's data source or loader."""
    from shipyard.pipeline.context import RunContext

    return RunContext(workspace, data_override=data)


def infer_project_schema(
    workspace: Workspace, *, data: Path | None = None, margin: float = 0.1
) -> tuple[Schema, Path]:
    """Infer the schema from reference data and write it where `data.schema` says."""
    from shipyard.data.schema import infer_schema, write_schema

    project = workspace.project
    frame = _context(workspace, data).raw()
    schema = infer_schema(frame, target=project.policy.data.target, margin=margin)
    write_schema(schema, project.schema_path)
    return schema, project.schema_path


def validate_project_data(
    workspace: Workspace, *, data: str | Path | None = None, executor: str | None = None
) -> Report:
    """Validate a data file (or the project's data) against the schema and data checks.

    A folder or object-store prefix (`s3://bucket/prefix`) of Parquet partitions, given or as
    `data.source`, is counted one partition at a time, in this process or as Ray tasks per
    `executor` (default the policy's `executor` where it has one, else `local`); its report is
    the one a single frame of every row gives. `executor` means nothing for a single file.
    """
    from shipyard.data.partitions import as_executor, is_partitioned
    from shipyard.pipeline.stages import data_rules, validate_data

    runs_on: Executor = as_executor(executor or workspace.project.policy.executor)
    if data is not None and "://" in str(data):
        return _validate_partitions(workspace, str(data), runs_on)
    ctx = _context(workspace, Path(data) if data is not None else None)
    if ctx.data_path is not None and is_partitioned(ctx.data_path):
        return _validate_partitions(workspace, ctx.data_path, runs_on, rules=data_rules(ctx))
    return validate_data(ctx, ctx.raw())


def _validate_partitions(
    workspace: Workspace, location: str | Path, executor: Executor, *, rules: dict[str, Any] | None = None
) -> Report:
    from shipyard.data.partitioned_validation import validate_partitions
    from shipyard.data.partitions import open_partitions
    from shipyard.data.schema import read_schema
    from shipyard.pipeline.stages import data_rules

    rules = rules or data_rules(_context(workspace, None))
    return validate_partitions(
        open_partitions(location), read_schema(workspace.project.schema_path), executor=executor, **rules
    )


def version_rows(workspace: Workspace) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per version: aliases, verdict, the policy's metrics, creation time."""
    versions = workspace.registry.versions()
    metric_names = workspace.project.policy.metrics[:3] or ["roc_auc", "rmse"]
    rows = []
    for info in versions:
        row: dict[str, Any] = {
            "version": info.version,
            "aliases": ", ".join(info.aliases),
            "verdict": info.verdict,
            "created": info.created_at.strftime("%m-%d %H:%M"),
        }
        row.update({name: info.metrics.get(name) for name in metric_names})
        rows.append(row)
    columns = ["version", "aliases", "verdict", *metric_names, "created"]
    return rows, columns


def history_rows(workspace: Workspace, *, alias: str | None = None) -> list[dict[str, Any]]:
    """Every alias move, oldest first; a near miss of a lifecycle alias is refused with a hint."""
    if alias is not None:
        from shipyard.registry import check_alias

        check_alias(alias)
    return [
        {
            "at": event.at.isoformat(timespec="seconds"),
            "alias": event.alias,
            "from_version": event.from_version or "-",
            "to_version": event.to_version or "-",
            "actor": event.actor,
            "reason": event.reason,
            "report": event.report or "",
        }
        for event in workspace.registry.history(alias=alias)
    ]


def version_at(workspace: Workspace, alias: str, when: str) -> str:
    """Which version `alias` pointed to at an ISO date or date-time (UTC when naive)."""
    try:
        moment = datetime.fromisoformat(when)
    except ValueError:
        raise ConfigError(
            f"--at: '{when}' is not an ISO date or date-time (e.g. 2026-11-20T14:00)."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    version = workspace.registry.version_at(alias, moment)
    return version or f"no version held alias '{alias}' at {moment.isoformat()}"


def check_environment(workspace: Workspace, ref: str) -> list[Any]:
    """Differences between this environment and the fingerprint recorded with a version.

    Raises `EnvironmentMismatchError` when there are any and `environment.on_mismatch` is 'fail'.
    """
    from shipyard.registry.verified import fetch_verified

    on_mismatch = workspace.project.policy.environment.on_mismatch
    return list(fetch_verified(workspace.registry, ref, on_mismatch=on_mismatch).mismatches)


def model_requirements(workspace: Workspace, ref: str) -> tuple[str, list[str]]:
    """The version `ref` resolves to and the pip requirements recorded with its files."""
    registry = workspace.registry
    version = registry.get(ref).version
    lines = (registry.download(version) / "requirements.txt").read_text().splitlines()
    return version, [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def live_drift(
    workspace: Workspace,
    *,
    window: str | None = None,
    current: str | Path | None = None,
    reference: str | Path | None = None,
    version: str | None = None,
    executor: str | None = None,
) -> DriftReport:
    """Drift of live inputs and scores against a reference, per `monitoring` in shipyard.yaml.

    `current`: a data file, a folder or object-store prefix of Parquet partitions (summarised
    one partition at a time, in this process or as Ray tasks per `executor`), else the
    prediction log over `window` (default monitoring.window). `executor` defaults to the
    policy's `executor` where it has one, else `local`.
    `reference`: a data file or folder (exact statistics, or profiled when `current` is
    partitioned), an object-store prefix of Parquet partitions (profiled one partition at a
    time), or profile JSON, else the stored profile of `version` (default `production`).
    `ConfigError` when there is nothing to compare. The prediction log is every server's
    partition (`workspace.logs`).
    """
    from shipyard.data.partitions import as_executor, is_partitioned, open_partitions
    from shipyard.monitoring.engine import detect_drift
    from shipyard.monitoring.sources import PredictionLogSource, open_source, parse_window
    from shipyard.serving.predlog import PREDICTIONS_DIR

    if reference is not None and version is not None:
        raise ConfigError("Give either --reference FILE or --version V, not both.")
    project = workspace.project
    config = project.policy.monitoring
    runs_on: Executor = as_executor(executor or project.policy.executor)
    ref = _drift_reference(workspace, reference, version)
    if current is not None:
        source: Any = open_partitions(current) if is_partitioned(current) else open_source(Path(current))
    else:
        span = window or config.window
        log = workspace.logs.readable(PREDICTIONS_DIR, since=datetime.now(UTC) - parse_window(span))
        source = PredictionLogSource.last(log, span)
        if not source.has_files:
            raise ConfigError(
                f"The prediction log {_log_place(workspace, log)} holds no predictions yet. Serve the "
                "model with 'shipyard serve' (it logs every scored row), or pass --current FILE."
            )
    report = detect_drift(ref, source, config, exclude=(project.policy.data.target,), executor=runs_on)
    if report.empty:
        raise ConfigError(
            f"No rows to compare in {source.description}. Widen --window, or pass --current FILE."
        )
    return report


def _log_place(workspace: Workspace, folder: Path) -> str:
    """The log as a user knows it: the object store's folder of it, or the local folder."""
    logs = workspace.logs
    if logs.store is None:
        return str(folder)
    return f"{logs.prefix}/{folder.name} in the object store {logs.store.description}"


def _drift_reference(workspace: Workspace, location: str | Path | None, version: str | None) -> Any:
    """A profile (stored with the version, or a JSON file), partitions in an object store, or
    reference data for exact statistics."""
    from shipyard.data.partitions import open_partitions
    from shipyard.data.profile import Profile
    from shipyard.errors import ModelVersionNotFound, RegistryError

    if location is not None and "://" in str(location):
        if str(location).lower().endswith(".json"):
            raise ConfigError(
                f"--reference {location}: a profile JSON is read from a local file. Download it "
                "first, or give the s3:// prefix of the reference data's Parquet partitions."
            )
        return open_partitions(str(location))
    if location is not None:
        reference = Path(location)
        if reference.suffix.lower() == ".json":
            if not reference.is_file():
                raise ConfigError(f"--reference: no such file: {reference}")
            return Profile.from_json(reference.read_text())
        return reference
    ref = version or "production"
    registry = workspace.registry
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


@dataclass(frozen=True)
class LivePerformance:
    """Rolling metric windows, concept-drift alerts and their report, on `rows` labelled predictions."""

    windows: list[Any]
    alerts: list[Any]
    rows: int
    report: Report


def live_performance(
    workspace: Workspace, *, window: str | None = None, version: str | None = None
) -> LivePerformance:
    """Join the prediction log with feedback over `window`; run the detectors and rolling metrics
    against `version`'s offline metrics (default `production`). `ConfigError` without labels."""
    import numpy as np

    from shipyard.core.results import CheckResult, Reason, Status
    from shipyard.evaluation.metrics import default_metrics
    from shipyard.evaluation.outputs import ModelOutputs
    from shipyard.monitoring.concept import detect_changes, error_stream, rolling_metrics
    from shipyard.monitoring.sources import parse_window, read_labelled
    from shipyard.serving.predlog import FEEDBACK_DIR, PREDICTIONS_DIR

    policy, config = workspace.project.policy, workspace.project.policy.monitoring
    span = window or config.window
    end = datetime.now(UTC)
    logs, start = workspace.logs, end - parse_window(span)
    frame = read_labelled(
        logs.readable(PREDICTIONS_DIR, since=start), logs.readable(FEEDBACK_DIR, since=start), start, end
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
    offline = _offline_metrics(workspace, version)
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
    return LivePerformance(windows, alerts, len(frame), Report.of("performance checks", results))


def _offline_metrics(workspace: Workspace, version: str | None) -> dict[str, float]:
    """The version's offline test metrics (from its evaluation.json); {} when there is no production."""
    import json

    from shipyard.errors import ModelVersionNotFound

    registry = workspace.registry
    try:
        info = registry.get(version or "production")
    except ModelVersionNotFound:
        if version is not None:
            raise
        return {}
    metrics = json.loads(registry.report_text(info.version, "evaluation.json")).get("metrics", {})
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
