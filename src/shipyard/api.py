"""Project-level operations behind the CLI, usable from Python as they are.

Each takes a `Project` (see `Project.load`) and returns data; rendering is the caller's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.config.project import Project
from shipyard.core.results import Report
from shipyard.errors import ConfigError
from shipyard.pipeline.run import RunOutcome, SmokeOutcome, run_pipeline, run_smoke

if TYPE_CHECKING:
    from shipyard.data.schema import Schema
    from shipyard.pipeline.context import RunContext
    from shipyard.registry.store import ModelRegistry

__all__ = [
    "RunOutcome",
    "SmokeOutcome",
    "check_environment",
    "history_rows",
    "infer_project_schema",
    "open_registry",
    "run_pipeline",
    "run_smoke",
    "validate_project_data",
    "version_at",
    "version_rows",
]


def _context(project: Project, data: Path | None) -> RunContext:
    """A run context reading `data` if given, else the project's data source or loader."""
    from shipyard.pipeline.context import RunContext

    return RunContext(project, data_override=data)


def infer_project_schema(
    project: Project, *, data: Path | None = None, margin: float = 0.1
) -> tuple[Schema, Path]:
    """Infer the schema from reference data and write it where `data.schema` says."""
    from shipyard.data.schema import infer_schema, write_schema

    frame = _context(project, data).raw()
    schema = infer_schema(frame, target=project.policy.data.target, margin=margin)
    write_schema(schema, project.schema_path)
    return schema, project.schema_path


def validate_project_data(project: Project, *, data: Path | None = None) -> Report:
    """Validate a data file (or the project's data) against the schema and data checks."""
    from shipyard.pipeline.stages import validate_data

    return validate_data(_context(project, data))


def open_registry(project: Project) -> ModelRegistry:
    from shipyard.registry.store import ModelRegistry

    return ModelRegistry.at(project.store())


def version_rows(project: Project) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per version: aliases, verdict, the policy's metrics, creation time."""
    versions = open_registry(project).versions()
    metric_names = project.policy.metrics[:3] or ["roc_auc", "rmse"]
    rows = []
    for info in versions:
        row = {
            "version": info.version,
            "aliases": ", ".join(info.aliases),
            "verdict": info.verdict,
            "created": info.created_at.strftime("%m-%d %H:%M"),
        }
        row.update({name: info.metrics.get(name) for name in metric_names})
        rows.append(row)
    columns = ["version", "aliases", "verdict", *metric_names, "created"]
    return rows, columns


def history_rows(project: Project, *, alias: str | None = None) -> list[dict[str, Any]]:
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
        for event in open_registry(project).history(alias=alias)
    ]


def version_at(project: Project, alias: str, when: str) -> str:
    """Which version `alias` pointed to at an ISO date or date-time (UTC when naive)."""
    try:
        moment = datetime.fromisoformat(when)
    except ValueError:
        raise ConfigError(
            f"--at: '{when}' is not an ISO date or date-time (e.g. 2026-11-20T14:00)."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    version = open_registry(project).version_at(alias, moment)
    return version or f"no version held alias '{alias}' at {moment.isoformat()}"


def check_environment(project: Project, ref: str) -> list[Any]:
    """Differences between this environment and the fingerprint recorded with a version.

    Raises `EnvironmentMismatchError` when there are any and `environment.on_mismatch` is 'fail'.
    """
    from shipyard.registry.verified import fetch_verified

    on_mismatch = project.policy.environment.on_mismatch
    return list(fetch_verified(open_registry(project), ref, on_mismatch=on_mismatch).mismatches)
