"""The `shipyard` command: parse, call the public API, render. No logic lives here.

Heavy libraries (pandas, scikit-learn, MLflow) are imported inside commands so that
`shipyard --help` starts fast.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli._common import ProjectOption, console, errors, open_workspace
from shipyard.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from shipyard.errors import DataValidationError, GateFailedError

app = typer.Typer(
    name="shipyard",
    help="CI/CD for machine-learning models: validate data, build, gate, register, promote.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
schema_app = typer.Typer(help="Infer and check the data schema kept in git.", no_args_is_help=True)
env_app = typer.Typer(help="Compare the running environment with a model's.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
app.add_typer(env_app, name="env")


@schema_app.command("infer")
def schema_infer(
    project: ProjectOption = Path("."),
    data: Annotated[Path | None, typer.Option(help="Reference data; default data.source.")] = None,
    margin: Annotated[float, typer.Option(help="Least widening of fail bounds (share of range).")] = 0.1,
) -> None:
    """Write schema.yaml from the reference data, for review in git."""
    from shipyard.api import infer_project_schema

    schema, path = infer_project_schema(open_workspace(project), data=data, margin=margin)
    console.print(f"Wrote [bold]{path}[/] ({len(schema.columns)} columns). Review it and commit it.")


@app.command()
def validate(
    data: Annotated[
        str | None,
        typer.Argument(
            help="Data file, or a folder or s3:// prefix of Parquet partitions (validated one "
            "partition at a time); default data.source."
        ),
    ] = None,
    executor: Annotated[
        str | None, typer.Option(help="Where partitions are counted: local or ray; default the policy's.")
    ] = None,
    project: ProjectOption = Path("."),
) -> None:
    """Validate a data file against the schema; exit 1 if any check fails."""
    from shipyard.api import validate_project_data
    from shipyard.reports.console import render_report

    report = validate_project_data(open_workspace(project), data=data, executor=executor)
    render_report(console, report, title="Data validation")
    report.raise_for_status()


@app.command()
def run(
    project: ProjectOption = Path("."),
    data: Annotated[Path | None, typer.Option(help="Use this data instead of data.source.")] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the run report (JSON) here.")
    ] = None,
    report_dir: Annotated[
        Path | None,
        typer.Option(help="Write report.json, .md and .html here; default .shipyard/reports/VERSION/."),
    ] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="Write no report files.")] = False,
    executor: Annotated[
        str | None,
        typer.Option(help="Where stages run: 'local' or 'ray' (default: shipyard.yaml's executor)."),
    ] = None,
) -> None:
    """load -> validate -> features -> split -> train -> evaluate -> gate -> register (cached by content)."""
    from shipyard.cli.progress import stage_printer
    from shipyard.cli.report import publish_run_report
    from shipyard.errors import ConfigError, DataValidationError
    from shipyard.pipeline.run import invalid_data_summary, run_pipeline
    from shipyard.reports.console import render_metrics, render_report, render_slices

    workspace = open_workspace(project)
    proj = workspace.project
    if json_path is not None and not json_path.parent.is_dir():
        raise ConfigError(f"--json: the folder {json_path.parent} does not exist; create it first.")
    try:
        outcome = run_pipeline(workspace, data=data, on_event=stage_printer(console), executor=executor)
    except DataValidationError as exc:
        render_report(console, exc.report, title="Data validation")
        summary = invalid_data_summary(exc.report)
        publish_run_report(
            workspace,
            summary,
            json_path=json_path,
            report_dir=report_dir,
            write_files=not no_report,
        )
        raise
    if outcome.evaluation:
        metrics = outcome.evaluation.get("metrics", {})
        render_metrics(console, metrics, title="Test metrics")
        render_slices(console, outcome.evaluation.get("slices", {}), proj.policy.metrics or list(metrics))
    render_report(console, outcome.gate_report, title="Gates")
    registered_now = outcome.new_version
    if outcome.approved:
        state = "[green]approved[/]" + (" (alias candidate)" if registered_now else "")
    else:
        state = "[red]rejected[/]"
    already = "" if registered_now else " (registered earlier; nothing changed)"
    console.print(f"Model [bold]{proj.policy.model_name}[/] version {outcome.version}: {state}{already}")
    publish_run_report(
        workspace,
        outcome.to_dict(),
        baseline=outcome.baseline,
        provenance=outcome.provenance,
        json_path=json_path,
        report_dir=report_dir,
        write_files=not no_report,
    )
    outcome.gate_report.raise_for_status()


@app.command()
def smoke(project: ProjectOption = Path(".")) -> None:
    """The whole pipeline on the committed sample, in seconds; loud on any failure."""
    from shipyard.cli.progress import stage_printer
    from shipyard.pipeline.run import run_smoke
    from shipyard.reports.console import render_report

    outcome = run_smoke(open_workspace(project), on_event=stage_printer(console))
    render_report(console, outcome.run.gate_report, title="Gates (smoke: only the output contract blocks)")
    render_report(console, outcome.contract, title="Loaded back through MLflow")
    failed = [
        f"{r.check} ({where})"
        for where, report in (("gates", outcome.run.gate_report), ("loaded back", outcome.contract))
        for r in report.failures
    ]
    console.print(
        f"Smoke {'FAILED: ' + ', '.join(failed) if failed else 'passed'}"
        f" in {outcome.seconds:.1f} s (max difference after reload {outcome.max_abs_difference:.2g})"
    )
    outcome.run.gate_report.raise_for_status()
    outcome.contract.raise_for_status()


@app.command()
def models(project: ProjectOption = Path(".")) -> None:
    """Registered versions with their aliases, key metrics and gate verdicts."""
    from shipyard.api import version_rows
    from shipyard.reports.console import render_rows

    rows, columns = version_rows(open_workspace(project))
    render_rows(console, rows, columns, title="Model versions")


@app.command()
def promote(
    version: Annotated[str, typer.Argument(help="Version number or alias.")],
    to: Annotated[str, typer.Option("--to", help="Alias to move: staging, canary, production…")],
    force: Annotated[bool, typer.Option(help="Promote even if the version failed its gates.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why; required with --force.")] = None,
    project: ProjectOption = Path("."),
) -> None:
    """Move an alias to a version; production keeps the old one as `previous`."""
    from shipyard.config.settings import actor

    registry = open_workspace(project).registry
    events = registry.promote(version, to, actor=actor(), force=force, reason=reason)
    if not events:
        console.print(f"Alias {to} already points to version {version}; nothing to do.")
    for event in events:
        console.print(f"{event.alias}: {event.from_version or '-'} -> {event.to_version}")


@app.command()
def history(
    alias: Annotated[str | None, typer.Option(help="Only this alias.")] = None,
    at: Annotated[str | None, typer.Option(help="Which version held ALIAS at this ISO date/time.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines, with each move's report.")] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Every alias move: who, when, from, to, why, and the report that justified it."""
    import json

    from shipyard.api import history_rows, version_at
    from shipyard.reports.console import render_rows

    workspace = open_workspace(project)
    if at is not None:
        console.print(version_at(workspace, alias or "production", at))
        return
    rows = history_rows(workspace, alias=alias)
    if as_json:
        for row in rows:
            print(json.dumps(row, sort_keys=True))
        return
    columns = ["at", "alias", "from_version", "to_version", "actor", "reason"]
    render_rows(console, rows, columns, title="Alias history (--json adds each move's report)")


@env_app.command("check")
def env_check(
    version: Annotated[str, typer.Argument(help="Version number or alias.")],
    project: ProjectOption = Path("."),
) -> None:
    """Report each difference between this environment and the model's fingerprint."""
    from shipyard.api import check_environment

    mismatches = check_environment(open_workspace(project), version)
    if not mismatches:
        console.print(f"Environment matches version {version}'s fingerprint.")
        return
    for m in mismatches:
        console.print(f"{m.field}: model {m.recorded!r}, here {m.current!r}")
    console.print("Policy environment.on_mismatch is 'warn': the model may still be loaded.")


# Command groups defined in their own modules (each imports only typer at module level):
from shipyard.cli.deploy import deploy_app  # noqa: E402
from shipyard.cli.init import init  # noqa: E402
from shipyard.cli.keys import keys_app  # noqa: E402
from shipyard.cli.monitor import monitor_app  # noqa: E402
from shipyard.cli.report import report  # noqa: E402
from shipyard.cli.retrain import retrain, watch  # noqa: E402
from shipyard.cli.rollout import rollback, rollout_app, traffic_app  # noqa: E402
from shipyard.cli.serve import serve  # noqa: E402

app.command()(init)
app.command()(report)
app.command()(serve)
app.add_typer(rollout_app, name="rollout")
app.command()(rollback)
app.add_typer(traffic_app, name="traffic")
app.add_typer(deploy_app, name="deploy")
app.add_typer(monitor_app, name="monitor")
app.add_typer(keys_app, name="keys")
app.command()(retrain)
app.command()(watch)


def main() -> None:
    """Run the CLI, mapping every outcome to a stable exit code."""
    # MLflow logs its housekeeping at INFO; the CLI shows its own progress instead.
    # Only this process is affected, and an explicit user setting wins.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    # SIGTERM (CI cancel, kill) unwinds like Ctrl-C, so cleanups run and nothing is half-written.
    signal.signal(signal.SIGTERM, _interrupt)
    sys.exit(run_cli(sys.argv[1:]))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def run_cli(argv: list[str]) -> int:
    from shipyard import errors as e

    try:
        # Click handles usage errors itself (exit 2) and exits through SystemExit.
        app(args=argv, prog_name="shipyard", standalone_mode=True)
        return ExitCode.OK
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else ExitCode.USAGE_ERROR
        if code == ExitCode.INTERRUPTED:  # typer turns KeyboardInterrupt into exit 130
            _report_interrupt()
        return code
    except KeyboardInterrupt:
        _report_interrupt()
        return ExitCode.INTERRUPTED
    except (e.DataValidationError, e.GateFailedError) as exc:
        errors.print(f"[bold red]Check failed[/] ({_stage_of(exc)}): {exc}")
        return ExitCode.CHECK_FAILED
    except (e.ConfigError, e.ModelVersionNotFound, e.ServiceUnavailableError) as exc:
        errors.print(f"[bold red]Usage error:[/] {exc}")
        return ExitCode.USAGE_ERROR
    except (e.AliasConflict, e.IntegrityError, e.EnvironmentMismatchError, e.BusyError) as exc:
        errors.print(f"[bold red]Refused:[/] {exc}")
        return ExitCode.CHECK_FAILED
    except e.StageError as exc:
        if exc.traceback:
            errors.print(exc.traceback, markup=False)
        who = "your code" if exc.user_code else "Shipyard (a bug: please report it)"
        errors.print(f"[bold red]Stage '{exc.stage}' crashed in {who}:[/] {exc}")
        return ExitCode.STAGE_CRASHED
    except e.ShipyardError as exc:
        errors.print(f"[bold red]Error:[/] {exc}")
        return ExitCode.STAGE_CRASHED
    except OSError as exc:
        usage = e.environment_error(exc)
        if usage is None:
            return _crashed()
        errors.print(f"[bold red]Usage error:[/] {usage}")
        return ExitCode.USAGE_ERROR
    except Exception:  # noqa: BLE001 - the last line of defence turns any crash into exit 3
        return _crashed()


def _crashed() -> int:
    import traceback

    errors.print(traceback.format_exc(), markup=False)
    errors.print("[bold red]Shipyard crashed (a bug: please report it with the traceback).[/]")
    return ExitCode.STAGE_CRASHED


def _report_interrupt() -> None:
    errors.print(
        "[bold red]Interrupted.[/] Unfinished stages and registrations were rolled back; "
        "the cache keeps only completed stages, so rerunning is safe."
    )


_WHERE = {"data": "stage validate", "gates": "stage gate", "smoke checks": "smoke load-back"}


def _stage_of(exc: DataValidationError | GateFailedError) -> str:
    return _WHERE.get(exc.report.kind, exc.report.kind)
