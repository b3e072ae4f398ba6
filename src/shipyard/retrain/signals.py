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
    from shipyard.config.project import Project
    from shipyard.registry.store import ModelRegistry


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


def evaluate_triggers(project: Project, registry: ModelRegistry, *, now: datetime) -> list[TriggerResult]:
    """Every trigger configured under `retrain`, in a fixed order; `ConfigError` when none is."""
    from shipyard.serving.predlog import feedback_dir

    config = project.policy.retrain
    if not (config.schedule or config.min_new_labels or config.on_drift or config.on_degradation):
        raise ConfigError(
            "shipyard.yaml: retrain: no trigger is configured. Set at least one of 'schedule', "
            "'min_new_labels', 'on_drift' or 'on_degradation', or run 'shipyard retrain' without "
            "--if-needed to retrain now."
        )
    trained = last_trained(registry)
    results = []
    if config.schedule:
        results.append(schedule_trigger(config.schedule, trained, now))
    if config.min_new_labels:
        count = count_feedback(feedback_dir(project.root), trained)
        results.append(new_labels_trigger(count, config.min_new_labels))
    if config.on_drift:
        results.append(_drift(project))
    if config.on_degradation:
        results.append(_degradation(project))
    return results


def _drift(project: Project) -> TriggerResult:
    from shipyard.api import live_drift

    try:
        report = live_drift(project)
    except ConfigError as exc:  # no prediction log yet, or no rows in the window
        return TriggerResult("drift", False, f"not measured: {exc}")
    if report.too_few_rows:
        return TriggerResult("drift", False, f"not measured: {report.too_few_rows_message()}")
    failures = [r.message for r in report.to_report().failures]
    return drift_trigger([f.name for f in report.drifted], len(report.tested), failures)


def _degradation(project: Project) -> TriggerResult:
    from shipyard.api import live_performance

    try:
        performance = live_performance(project)
    except ConfigError as exc:  # no labelled traffic in the window
        return TriggerResult("degradation", False, f"not measured: {exc}")
    return degradation_trigger([a.message for a in performance.alerts], performance.rows)
