"""What the triggers measure: the last training time, labels since then, live drift and degradation."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.errors import ConfigError
from shipyard.retrain.triggers import (
    TriggerResult,
    degradation_trigger,
    drift_trigger,
    new_labels_trigger,
    schedule_trigger,
)

if TYPE_CHECKING:
    from shipyard.registry.store import ModelRegistry
    from shipyard.workspace import Workspace


def last_trained(registry: ModelRegistry) -> datetime | None:
    """When the newest version of the model was registered; None when there is none."""
    versions = registry.versions()
    return max((v.created_at for v in versions), default=None)


def count_feedback(folder: Path, since: datetime | None) -> int:
    """Labelled rows received after `since` (all of them when None); 0 without a feedback log."""
    import duckdb

    if not folder.is_dir() or not any(folder.rglob("*.parquet")):
        return 0
    pattern = str(folder / "**" / "*.parquet").replace("'", "''")
    sql = f"SELECT count(*) FROM read_parquet('{pattern}', hive_partitioning=true, union_by_name=true)"
    if since is None:
        return int(duckdb.connect().sql(sql).fetchall()[0][0])
    return int(duckdb.connect().sql(f"{sql} WHERE ts > ?", params=[since]).fetchall()[0][0])


def evaluate_triggers(workspace: Workspace, *, now: datetime) -> list[TriggerResult]:
    """Every trigger configured under `retrain`, in a fixed order; `ConfigError` when none is.

    Labels, drift and degradation are measured on every server's log partition (`workspace.logs`).
    """
    from shipyard.serving.predlog import FEEDBACK_DIR

    config = workspace.project.policy.retrain
    if not (config.schedule or config.min_new_labels or config.on_drift or config.on_degradation):
        raise ConfigError(
            "shipyard.yaml: retrain: no trigger is configured. Set at least one of 'schedule', "
            "'min_new_labels', 'on_drift' or 'on_degradation', or run 'shipyard retrain' without "
            "--if-needed to retrain now."
        )
    trained = last_trained(workspace.registry)
    results = []
    if config.schedule:
        results.append(schedule_trigger(config.schedule, trained, now))
    if config.min_new_labels:
        count = count_feedback(workspace.logs.readable(FEEDBACK_DIR, since=trained), trained)
        results.append(new_labels_trigger(count, config.min_new_labels))
    if config.on_drift:
        results.append(_drift(workspace))
    if config.on_degradation:
        results.append(_degradation(workspace))
    return results


def _drift(workspace: Workspace) -> TriggerResult:
    from shipyard.api import live_drift

    try:
        report = live_drift(workspace)
    except ConfigError as exc:  # no prediction log yet, or no rows in the window
        return TriggerResult("drift", False, f"not measured: {exc}")
    if report.too_few_rows:
        return TriggerResult("drift", False, f"not measured: {report.too_few_rows_message()}")
    failures = [r.message for r in report.to_report().failures]
    return drift_trigger([f.name for f in report.drifted], len(report.tested), failures)


def _degradation(workspace: Workspace) -> TriggerResult:
    from shipyard.api import live_performance

    try:
        performance = live_performance(workspace)
    except ConfigError as exc:  # no labelled traffic in the window
        return TriggerResult("degradation", False, f"not measured: {exc}")
    return degradation_trigger([a.message for a in performance.alerts], performance.rows)
