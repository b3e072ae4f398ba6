"""retrain -> gate -> roll out, only when a trigger says so; and `watch`, which asks on an interval.

A retrained model ships only if it passed every gate, non-inferiority against
production on the fresh test set included; otherwise it stays registered as
rejected with its evidence. Each evaluation is recorded as a `Decision`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shipyard.config.settings import actor
from shipyard.errors import BusyError, ConfigError, DataValidationError, ShipyardError
from shipyard.retrain.decisions import Decision, DecisionLog
from shipyard.retrain.signals import evaluate_triggers
from shipyard.retrain.triggers import TriggerResult

if TYPE_CHECKING:
    from shipyard.config.project import Project
    from shipyard.core.results import Report
    from shipyard.pipeline.run import RunOutcome
    from shipyard.workspace import Workspace

NON_INFERIORITY_GATE = "no_regression"


@dataclass(frozen=True)
class RetrainOutcome:
    """The recorded decision, the triggers behind it, and the run when one happened."""

    decision: Decision
    triggers: list[TriggerResult] = field(default_factory=list)
    run: RunOutcome | None = None


def retrain_if_needed(
    workspace: Workspace,
    *,
    force: bool = False,
    now: datetime | None = None,
    on_message: Callable[[str], None] | None = None,
) -> RetrainOutcome:
    """Evaluate the triggers (all of them, for the record); retrain when one fired or `force`.

    Raises `BusyError` when another retrain of this project holds the lock.
    """
    say = on_message or (lambda message: None)
    project = workspace.project
    with workspace.lock("retrain", purpose=f"retrain of {project.policy.model_name}"):
        triggers = evaluate_triggers(workspace, now=now or datetime.now(UTC)) if not force else []
        for trigger in triggers:
            say(f"{'FIRED' if trigger.fired else 'quiet'} {trigger.trigger}: {trigger.message}")
        log = DecisionLog(workspace.state_url)
        try:
            if not force and not any(t.fired for t in triggers):
                return _record(log, project, triggers, "skipped", retrain=False)
            reasons = triggers or [TriggerResult("manual", True, "retrain requested without --if-needed")]
            return _retrain(workspace, log, reasons, say)
        finally:
            log.close()


def _retrain(
    workspace: Workspace, log: DecisionLog, triggers: list[TriggerResult], say: Callable[[str], None]
) -> RetrainOutcome:
    from shipyard.pipeline.run import run_pipeline

    project = workspace.project
    fresh = project.resolve(project.policy.retrain.data) if project.policy.retrain.data else None
    try:
        run = run_pipeline(workspace, data=fresh)
    except (DataValidationError, ShipyardError) as exc:
        _record(log, project, triggers, "failed", error=str(exc).splitlines()[0])
        raise
    if not run.new_version:
        say(f"Version {run.version} was built from the same content before; nothing new to ship.")
        return _record(log, project, triggers, "unchanged", run=run)
    if not run.approved:
        say(f"Version {run.version} was rejected by its gates: {run.gate_report.headline()}.")
        return _record(log, project, triggers, "rejected", run=run)
    comparison = [
        r.message for r in run.gate_report.results if r.evidence.get("gate_type") == NON_INFERIORITY_GATE
    ]
    say(f"Version {run.version}: {run.gate_report.headline()}" + "".join(f"\n  {m}" for m in comparison))
    if project.policy.retrain.on_pass == "register":
        say(f"Version {run.version} passed every gate and is registered (alias candidate).")
        return _record(log, project, triggers, "registered", run=run)
    if not _beat_production(run.gate_report):
        say(
            f"Version {run.version} passed its gates, but no '{NON_INFERIORITY_GATE}' gate compared it "
            "with production, so it is not rolled out. Add one to 'gates' to ship retrained models."
        )
        return _record(log, project, triggers, "registered", run=run)
    return _roll_out(workspace, log, triggers, run, say)


def _beat_production(report: Report) -> bool:
    """True when a non-inferiority gate compared with production and passed (or there is none yet)."""
    from shipyard.core.results import Status

    compared = [r for r in report.results if r.evidence.get("gate_type") == NON_INFERIORITY_GATE]
    return bool(compared) and all(r.status in (Status.PASSED, Status.SKIPPED) for r in compared)


def _roll_out(
    workspace: Workspace,
    log: DecisionLog,
    triggers: list[TriggerResult],
    run: RunOutcome,
    say: Callable[[str], None],
) -> RetrainOutcome:
    from shipyard.delivery.controller import RolloutController
    from shipyard.delivery.state import RolloutStore

    controller = RolloutController(
        workspace, RolloutStore(workspace.rollout_url), actor=actor(), on_event=say
    )
    fired = ", ".join(t.trigger for t in triggers if t.fired)
    rollout = controller.start(run.version, reason=f"retrained ({fired}) and passed every gate")
    outcome = _record(log, workspace.project, triggers, "rollout_started", run=run)
    say(f"Rollout {rollout.id} of version {run.version} started; driving it.")
    controller.drive(rollout)
    return outcome


def _record(
    log: DecisionLog,
    project: Project,
    triggers: list[TriggerResult],
    outcome: str,
    *,
    retrain: bool = True,
    run: RunOutcome | None = None,
    error: str | None = None,
) -> RetrainOutcome:
    records = [t.to_dict() for t in triggers]
    if error:
        records.append({"trigger": "error", "fired": False, "message": error, "evidence": {}})
    decision = log.record(
        Decision(
            model=project.policy.model_name,
            retrain=retrain,
            outcome=outcome,
            triggers=records,
            actor=actor(),
            version=run.version if run else None,
        )
    )
    return RetrainOutcome(decision, triggers, run)


def watch(
    workspace: Workspace,
    *,
    interval_s: float,
    stop: threading.Event,
    max_cycles: int | None = None,
    on_message: Callable[[str], None] | None = None,
) -> int:
    """Evaluate the triggers every `interval_s` until `stop` is set; returns the cycles run.

    A cycle that finds another retrain running, or whose run fails, is reported and the loop
    goes on; a `ConfigError` stops it.
    """
    say = on_message or (lambda message: None)
    cycles = 0
    while not stop.is_set() and (max_cycles is None or cycles < max_cycles):
        cycles += 1
        try:
            outcome = retrain_if_needed(workspace, on_message=say)
            say(f"cycle {cycles}: {outcome.decision.outcome}")
        except BusyError as exc:
            say(f"cycle {cycles}: skipped, {exc}")
        except ConfigError:
            raise  # a policy that cannot work now will not work on the next cycle either
        except ShipyardError as exc:
            say(f"cycle {cycles}: failed, {type(exc).__name__}: {str(exc).splitlines()[0]}")
        if max_cycles is None or cycles < max_cycles:
            stop.wait(interval_s)
    return cycles
