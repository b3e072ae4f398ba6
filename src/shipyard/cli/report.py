"""`shipyard report`, and the report files `shipyard run` writes: JSON, Markdown and HTML.

The report model is built by `shipyard.reports.run_report` from plain dicts; this module
only gathers them (from a run's outcome or from a registered version's stored reports)
and writes the files: under `workspace.reports_dir/<version>/`, and with an object store
also as `reports/<model>/<version>/report.*`, so `shipyard report` in another clone shows
the report the run wrote.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipyard.cli._common import ProjectOption, console, errors, open_workspace

if TYPE_CHECKING:
    from shipyard.registry.store import ModelRegistry
    from shipyard.workspace import Workspace

STORED_REPORTS = ("data_report.json", "gate_report.json", "evaluation.json")


class ReportFormat(StrEnum):
    JSON = "json"
    MD = "md"
    HTML = "html"


def publish_run_report(
    workspace: Workspace,
    summary: dict[str, Any],
    *,
    baseline: dict[str, Any] | None = None,
    provenance: dict[str, Any] | None = None,
    json_path: Path | None = None,
    report_dir: Path | None = None,
    write_files: bool = True,
) -> None:
    """Build the run report and write it: `--json`, the report folder, `$GITHUB_STEP_SUMMARY`.

    The folder defaults to `.shipyard/reports/<version>/` (`workspace.reports_dir`); a run
    stopped by invalid data has no version and writes a folder only when one is given. With an
    object store the files are also stored there. `baseline` is what the gate stage recorded
    of production (`RunOutcome.baseline`).
    """
    from shipyard.config.settings import GITHUB_STEP_SUMMARY
    from shipyard.pipeline.cache import StageCache
    from shipyard.reports.files import append_step_summary, render, write_reports
    from shipyard.reports.run_report import build_run_report

    if not baseline and summary.get("version"):
        # A fully cached rerun does not run the gate stage, so it knows nothing of production:
        # keep what the run that made this decision recorded.
        stored = _stored_run_report(workspace, summary)
        baseline = stored.get("baseline") if stored else None
    policy = workspace.project.policy
    report = build_run_report(
        summary,
        project=policy.name,
        model=policy.model_name,
        baseline=baseline,
        provenance=provenance,
    )
    if json_path is not None:
        json_path.write_text(render(report, "json"))
    step_summary = GITHUB_STEP_SUMMARY.get()
    if step_summary:
        append_step_summary(render(report, "md"), Path(step_summary))
    if not write_files:
        return
    version = report.get("version")
    directory = report_dir or (workspace.reports_dir / str(version) if version else None)
    if directory is None:
        return
    plot_cache = StageCache(workspace.cache_dir, workspace.objects)
    paths = write_reports(report, directory, plot_cache=plot_cache)
    names = ", ".join(path.name for path in paths.values())
    console.print(f"Reports in {directory}: {names}", soft_wrap=True)
    if version and workspace.objects is not None:
        _share(workspace, str(version), list(paths.values()))


def _share(workspace: Workspace, version: str, paths: list[Path]) -> None:
    """Put the report files in the object store; a failure is a warning (the run's decision stands)."""
    from shipyard.errors import ServiceUnavailableError
    from shipyard.workspace.objects import concurrently

    store = workspace.objects
    assert store is not None
    try:
        concurrently(lambda path: store.put(workspace.report_key(version, path.name), path), paths)
    except ServiceUnavailableError as exc:
        errors.print(f"[yellow]The report was not shared[/]: {exc}", soft_wrap=True)
        return
    console.print(f"Shared as {workspace.report_key(version, '')} in {store.description}", soft_wrap=True)


def _tag(tags: dict[str, str], key: str) -> str | None:
    value = tags.get(key)
    return None if value in (None, "", "None") else value


def _registered_summary(registry: ModelRegistry, version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The run summary and provenance of a registered version, from its stored reports and tags."""
    import json

    from shipyard.errors import ConfigError, RegistryError

    info = registry.get(version)
    stored = {}
    for name in STORED_REPORTS:
        try:
            stored[name] = json.loads(registry.report_text(info.version, name))
        except RegistryError as exc:
            raise ConfigError(
                f"Version {info.version} of model '{info.name}' has no stored {name} (was it "
                f"registered outside Shipyard?), so no report can be built for it. Details: {exc}"
            ) from exc
    summary = {
        "version": info.version,
        "verdict": info.verdict or "rejected",
        "new_version": False,
        "stages": [],
        "data_report": stored["data_report.json"],
        "gate_report": stored["gate_report.json"],
        "evaluation": stored["evaluation.json"],
    }
    seed = _tag(info.tags, "shipyard.seed")
    dirty = _tag(info.tags, "git.dirty")
    provenance = {
        "git_commit": _tag(info.tags, "git.commit"),
        "git_branch": _tag(info.tags, "git.branch"),
        "git_dirty": None if dirty is None else dirty.lower() == "true",
        "data_digest": _tag(info.tags, "shipyard.data_digest"),
        "run_id": info.run_id,
        "registered_at": info.created_at.isoformat(timespec="seconds"),
        "seed": int(seed) if seed and seed.isdigit() else seed,
    }
    return summary, provenance


def _stored_run_report(workspace: Workspace, summary: dict[str, Any]) -> dict[str, Any] | None:
    """The report `shipyard run` wrote for this version (here, or in the object store), if it is
    the registered decision.

    It also holds the production model's curves on the same test rows, which the
    registry does not keep.
    """
    import json

    version = str(summary["version"])
    path = workspace.reports_dir / version / "report.json"
    if not path.is_file() and workspace.objects is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        workspace.objects.get(workspace.report_key(version, path.name), path)
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    same = (
        stored.get("model") == workspace.project.policy.model_name
        and stored.get("gate_report") == summary["gate_report"]
        and stored.get("schema_version") == 1
    )
    return stored if same else None


def report(
    version: Annotated[str, typer.Argument(help="Version number or alias.")] = "latest",
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="Output format.")] = ReportFormat.MD,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here instead of stdout.")] = None,
    project: ProjectOption = Path("."),
) -> None:
    """A registered version's run report as JSON, Markdown or self-contained HTML."""
    from shipyard.errors import ConfigError
    from shipyard.reports.files import render
    from shipyard.reports.run_report import build_run_report

    workspace = open_workspace(project)
    policy = workspace.project.policy
    if out is not None and not out.parent.is_dir():
        raise ConfigError(f"--out: the folder {out.parent} does not exist; create it first.")
    registry = workspace.registry
    try:
        summary, provenance = _registered_summary(registry, version)
    finally:
        registry.close()
    built = _stored_run_report(workspace, summary)
    if built is None:
        built = build_run_report(summary, project=policy.name, model=policy.model_name, provenance=provenance)
    else:
        recorded = {key: value for key, value in built["provenance"].items() if value is not None}
        built["provenance"] = {**provenance, **recorded}
    text = render(built, fmt.value)
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    console.print(f"Wrote {out}")
