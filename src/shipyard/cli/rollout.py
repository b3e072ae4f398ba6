"""`shipyard rollout start|status|pause|resume|abort|sync`, `shipyard rollback`, `shipyard traffic replay`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli._common import ProjectOption, console, errors, load_project, open_workspace
from shipyard.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from shipyard.delivery.controller import RolloutController
    from shipyard.delivery.state import Rollout

rollout_app = typer.Typer(
    help="Progressive delivery: canary steps with live analysis, automatic rollback.", no_args_is_help=True
)
traffic_app = typer.Typer(help="Send recorded rows to a local server as real requests.", no_args_is_help=True)

ReasonOption = Annotated[str, typer.Option(help="Why; recorded in the audit log.")]
NoWaitOption = Annotated[
    bool, typer.Option("--no-wait", help="Change the state and return; do not drive the rollout here.")
]


def _controller(project: Path) -> RolloutController:
    from shipyard.config.settings import actor
    from shipyard.delivery.controller import RolloutController
    from shipyard.delivery.state import RolloutStore

    workspace = open_workspace(project)
    return RolloutController(
        workspace, RolloutStore(workspace.rollout_url), actor=actor(), on_event=console.print
    )


def _drive(controller: RolloutController, rollout: Rollout) -> None:
    """Drive in the foreground; exit 1 when the rollout ends rolled back or aborted."""
    from shipyard.delivery import state as st

    try:
        rollout = controller.drive(rollout)
    except KeyboardInterrupt:
        errors.print(
            f"[bold]Controller stopped.[/] Rollout {rollout.id} keeps its step and traffic; "
            "continue with 'shipyard rollout resume'."
        )
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    if rollout.status != st.SUCCEEDED:
        errors.print(
            f"[bold red]Rollout {rollout.id} {rollout.status.replace('_', ' ')}:[/] {rollout.reason}"
        )
        raise typer.Exit(ExitCode.CHECK_FAILED)


@rollout_app.command("start")
def start(
    version: Annotated[str, typer.Argument(help="Version number or alias to roll out.")],
    reason: ReasonOption = "",
    no_wait: NoWaitOption = False,
    project: ProjectOption = Path("."),
) -> None:
    """Canary VERSION through rollout.steps; exit 0 promoted, 1 rolled back."""
    controller = _controller(project)
    rollout = controller.start(version, reason=reason)
    steps = ", ".join("shadow" if s == 0 else f"{s:g}%" for s in rollout.steps)
    console.print(
        f"Rollout {rollout.id}: version {rollout.version} over {rollout.baseline_version} in "
        f"'{rollout.environment}', steps {steps}; deploy file {controller.deploy_path}."
    )
    if not no_wait:
        _drive(controller, rollout)


@rollout_app.command("status")
def status(
    as_json: Annotated[
        bool, typer.Option("--json", help="The rollout, its audit log and incidents as JSON.")
    ] = False,
    project: ProjectOption = Path("."),
) -> None:
    """The active (else the latest) rollout: step, traffic, violations, audit log."""
    import json

    controller = _controller(project)
    rollout = controller.active() or controller.store.latest(controller.model, controller.config.environment)
    if rollout is None:
        console.print(f"No rollout of model '{controller.model}' in '{controller.config.environment}' yet.")
        return
    events = controller.store.events(rollout.id)
    incidents = controller.store.incidents(rollout.id)
    desired = controller.desired_log.latest()
    if as_json:
        body = {
            "desired": None
            if desired is None
            else {
                "revision": desired.number,
                "state": desired.state.model_dump(exclude_none=True),
                "actor": desired.actor,
                "reason": desired.reason,
                "recorded_at": desired.recorded_at.isoformat(),
            },
            "rollout": rollout.to_dict(),
            "events": [{**e.__dict__, "at": e.at.isoformat()} for e in events],
            "incidents": [{**i, "at": i["at"].isoformat()} for i in incidents],
        }
        print(json.dumps(body, indent=2, sort_keys=True, default=str))
        return
    step = f"step {rollout.step + 1}/{len(rollout.steps)} ({rollout.percent:g}% canary)"
    console.print(
        f"Rollout {rollout.id}: version {rollout.version} over {rollout.baseline_version}, "
        f"[bold]{rollout.status}[/], {step}, started {rollout.started_at:%Y-%m-%d %H:%M:%S} UTC "
        f"by {rollout.actor}"
    )
    if desired is not None:
        console.print(
            f"Desired state revision {desired.number}, recorded {desired.recorded_at:%Y-%m-%d %H:%M:%S} UTC "
            f"by {desired.actor}: {desired.reason}",
            markup=False,
        )
    if rollout.violations:
        console.print("Violations in a row: " + ", ".join(f"{k} {n}" for k, n in rollout.violations.items()))
    for event in events[-8:]:
        console.print(f"  {event.at:%H:%M:%S} {event.action:<9} {event.actor}: {event.reason}", markup=False)
    for incident in incidents:
        console.print(f"Incident {incident['id']}: {incident['summary']}", markup=False)


@rollout_app.command("pause")
def pause(reason: ReasonOption = "", project: ProjectOption = Path(".")) -> None:
    """Hold the current step: traffic stays, nothing advances or rolls back."""
    rollout = _controller(project).pause(reason)
    console.print(f"Rollout {rollout.id} paused at step {rollout.step + 1} ({rollout.percent:g}% canary).")


@rollout_app.command("resume")
def resume(
    reason: ReasonOption = "", no_wait: NoWaitOption = False, project: ProjectOption = Path(".")
) -> None:
    """Continue a paused or orphaned rollout; drives it here unless another controller does."""
    controller = _controller(project)
    rollout = controller.resume(reason)
    console.print(f"Rollout {rollout.id} running at step {rollout.step + 1} ({rollout.percent:g}% canary).")
    if controller.driven_elsewhere(rollout):
        console.print(f"Controller {rollout.controller} drives it.")
    elif not no_wait:
        _drive(controller, rollout)


@rollout_app.command("abort")
def abort(reason: ReasonOption = "", project: ProjectOption = Path(".")) -> None:
    """Stop the rollout and send all traffic back to production."""
    rollout = _controller(project).abort(reason)
    console.print(f"Rollout {rollout.id} aborted; all traffic on version {rollout.baseline_version}.")


@rollout_app.command("sync")
def sync(project: ProjectOption = Path(".")) -> None:
    """Record a hand-edited deploy file as the newest desired state, or bring a file that is
    behind up to date; servers converge on the result."""
    from shipyard.workspace.desired import current

    controller = _controller(project)
    revision = current(controller.deploy_path, controller.desired_log, actor=controller.actor)
    if revision is None:
        console.print(
            f"No desired state yet: neither {controller.deploy_path} nor the state database holds one."
        )
        return
    console.print(
        f"{controller.deploy_path.name} is desired-state revision {revision.number}, recorded "
        f"{revision.recorded_at:%Y-%m-%d %H:%M:%S} UTC by {revision.actor}: {revision.reason}",
        markup=False,
    )


def rollback(reason: ReasonOption = "manual rollback", project: ProjectOption = Path(".")) -> None:
    """Return production to the previous version at once (deploy file and aliases)."""
    old, new = _controller(project).rollback(reason)
    console.print(f"Rolled back: version {old} -> {new}.")


@traffic_app.command("replay")
def replay(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file of raw rows.")],
    rps: Annotated[float, typer.Option(help="Requests per second.")] = 20.0,
    duration: Annotated[float, typer.Option(help="Seconds to send for.")] = 10.0,
    url: Annotated[str | None, typer.Option(help="Server base URL (loopback only).")] = None,
    rows: Annotated[int, typer.Option(help="Rows per request.")] = 1,
    feedback: Annotated[bool, typer.Option(help="Post each row's label to /feedback.")] = False,
    keep_target: Annotated[bool, typer.Option(help="Send the target column with the inputs.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Replay FILE's rows as paced /predict requests; exit 1 if any request failed."""
    import json

    from shipyard.delivery.replay import ReplayPlan, check_loopback, load_rows
    from shipyard.delivery.replay import replay as run_replay

    proj = load_project(project)
    base = check_loopback(url or f"http://127.0.0.1:{proj.policy.serving.port}")
    records, labels = load_rows(file, target=proj.policy.data.target, keep_target=keep_target)
    result = run_replay(ReplayPlan(base, rps, duration, rows=rows, feedback=feedback), records, labels)
    summary = result.to_dict()
    if as_json:
        print(json.dumps(summary, sort_keys=True))
    else:
        latency = ", ".join(f"{k} {v:.1f} ms" for k, v in summary["latency_ms"].items())
        console.print(
            f"Sent {result.sent} requests in {result.seconds:.1f} s: {result.ok} ok, {result.failed} failed"
            f"{f', {result.feedback} labels' if feedback else ''}; latency {latency}; "
            f"versions {summary['versions']}"
        )
    if result.failed:
        errors.print(f"[bold red]{result.failed} requests failed:[/] {summary['errors']}")
        raise typer.Exit(ExitCode.CHECK_FAILED)
