"""`RolloutController`: the state machine that moves a version through canary steps.

Each step sets the canary's share of traffic in the desired state: `deploy/<env>.yaml` and a
new revision in the state database, so every server following either reconciles, and a
controller in another clone (`rollout abort` there) starts from the newest revision. It
then analyses the live window every `analysis_interval_s`. A rule that fails
`consecutive_violations` analyses in a row rolls back at once: canary traffic to 0, alias
`rejected`, an incident with the evidence. A step that ran `step_duration_s` with at least
`min_requests` canary requests and every rule decided and passing advances; a step still
undecided at its deadline (`step_deadline_s`) rolls back. After the last step the version is
promoted (`production` -> new, `previous` -> old). Every decision is persisted first, so a
killed controller resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from shipyard.config.policy import RolloutConfig
from shipyard.core.results import Reason, Status
from shipyard.delivery import counters, gitops
from shipyard.delivery import state as st
from shipyard.delivery.analysis import CounterWindow, LiveWindow, WindowAnalysis, analyse
from shipyard.delivery.decision import ADVANCE, ROLLBACK, decide_step
from shipyard.delivery.notify import Notification, WebhookNotifier
from shipyard.delivery.state import Rollout, RolloutStore
from shipyard.errors import AliasConflict, ConfigError, ModelVersionNotFound
from shipyard.gates.catalog import build_analysis
from shipyard.gates.live import TRAFFIC_GATES
from shipyard.serving import predlog
from shipyard.serving.desired import DesiredState
from shipyard.workspace.desired import DesiredLog, current, update

if TYPE_CHECKING:
    from shipyard.workspace import Workspace

REJECTED = "rejected"
_DEADLINES = {Reason.NO_DATA_DEADLINE.value, Reason.UNDECIDED_DEADLINE.value}


def controller_id() -> str:
    return f"{os.getpid()}@{socket.gethostname()}"


def controller_alive(rollout: Rollout, *, stale_after_s: float) -> bool:
    """Whether another process drives `rollout` now: its pid lives here, or it beat recently."""
    if not rollout.controller or rollout.controller == controller_id():
        return False
    pid, _, host = rollout.controller.partition("@")
    if host == socket.gethostname():
        try:
            os.kill(int(pid), 0)
        except (OSError, ValueError):
            return False
        return True
    beat = rollout.heartbeat_at
    return beat is not None and (st.now() - beat).total_seconds() < stale_after_s


class RolloutController:
    """Drives the rollouts of one project's model in one environment, with the workspace's
    registry and logs (every server's partition when the logs go to an object store)."""

    def __init__(
        self,
        workspace: Workspace,
        store: RolloutStore,
        *,
        actor: str,
        config: RolloutConfig | None = None,
        on_event: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        project = workspace.project
        self.project = project
        self.logs = workspace.logs
        self.registry = workspace.registry
        self.store = store
        self.actor = actor
        self.config = config or project.policy.rollout
        self.gates = build_analysis(self.config, project.policy.task)
        self.deploy_path = gitops.deploy_file(project.root, self.config.environment)
        #: the desired-state revisions, recorded beside the rollouts
        self.desired_log = DesiredLog(store.url, self.registry.model_name, self.config.environment)
        self._on_event = on_event or (lambda message: None)
        self._sleep = sleep
        self.notifier = WebhookNotifier(self.config.webhook_url) if self.config.webhook_url else None
        #: the servers' counters when this controller first saw (rollout id) and (rollout id, step)
        self._snapshots: dict[Any, counters.Snapshot] = {}

    @property
    def model(self) -> str:
        return self.registry.model_name

    # -- commands ---------------------------------------------------------------------------

    def start(self, ref: str, *, reason: str = "") -> Rollout:
        """Create a rollout of version `ref` at its first step, or return the active rollout of
        the same version when its controller is gone (to resume it)."""
        info = self.registry.get(ref)
        active = self.store.active(self.model, self.config.environment)
        if active is not None and active.version == info.version and not self.driven_elsewhere(active):
            self._on_event(
                f"Resuming rollout {active.id} of version {active.version} at step {active.step + 1}."
            )
            return self.store.update(active, actor=self.actor, action="resume", reason="controller restarted")
        desired = self._desired_or_initial()
        if info.version == desired.production and active is None:
            raise ConfigError(
                f"Version {info.version} is already in production in '{self.config.environment}' "
                f"({self.deploy_path}). Roll out a newer version."
            )
        if not info.approved:
            raise AliasConflict(
                f"Version {info.version} of model '{self.model}' was rejected by its gates; refusing to "
                "roll it out. Register a version that passes its gates."
            )
        rollout = self.store.create(
            model=self.model,
            environment=self.config.environment,
            version=info.version,
            baseline_version=desired.production,
            steps=list(self.config.steps),
            actor=self.actor,
            reason=reason or f"roll out version {info.version} over {desired.production}",
            evidence={"config": self.config.model_dump(mode="json")},
        )
        self._snapshot_step(rollout)
        self._apply_step(rollout)
        return rollout

    def active(self) -> Rollout | None:
        return self.store.active(self.model, self.config.environment)

    def require_active(self) -> Rollout:
        rollout = self.active()
        if rollout is None:
            raise ConfigError(
                f"No rollout of model '{self.model}' is running in '{self.config.environment}'. "
                "Start one with 'shipyard rollout start VERSION'."
            )
        return rollout

    def pause(self, reason: str = "") -> Rollout:
        """Hold the current step: traffic stays as it is, nothing advances or rolls back."""
        rollout = self.require_active()
        return self.store.update(
            rollout, actor=self.actor, action="pause", reason=reason or "paused", status=st.PAUSED
        )

    def resume(self, reason: str = "") -> Rollout:
        rollout = self.require_active()
        return self.store.update(
            rollout, actor=self.actor, action="resume", reason=reason or "resumed", status=st.RUNNING
        )

    def abort(self, reason: str = "") -> Rollout:
        """Stop the rollout and send all traffic back to production; no alias moves."""
        rollout = self.require_active()
        why = f": {reason}" if reason else ""
        self._set_deploy(
            gitops.without_candidate, f"abort rollout {rollout.id} of version {rollout.version}{why}"
        )
        rollout = self.store.update(
            rollout, actor=self.actor, action="abort", reason=reason or "aborted", status=st.ABORTED
        )
        self._notify(
            rollout, "rollback", f"Rollout of {self.model} v{rollout.version} aborted", reason or "aborted"
        )
        return rollout

    def rollback(self, reason: str) -> tuple[str, str]:
        """`shipyard rollback`: end an active rollout, else return production to `previous` at
        once (deploy file and aliases). Returns (from version, to version)."""
        rollout = self.active()
        if rollout is not None:
            rollout = self.abort(reason)
            return rollout.version, rollout.baseline_version
        desired = self.desired()
        if desired is None or desired.previous is None:
            raise AliasConflict(
                f"{self.deploy_path} names no 'previous' version to roll back to. "
                f"Promote a chosen version instead: shipyard promote VERSION --to production."
            )
        aliases = self.registry.get(desired.previous).aliases
        if "previous" in aliases:
            self.registry.rollback(actor=self.actor, reason=reason)
        else:
            self.registry.promote(desired.previous, "production", actor=self.actor, force=True, reason=reason)
        old = desired.production
        self._set_deploy(
            lambda s: s.model_copy(update={"production": desired.previous, "previous": None, "canary": None}),
            f"rollback {self.model} from {old} to {desired.previous}: {reason}",
        )
        self._notify(
            None, "rollback", f"{self.model} rolled back to v{desired.previous}", reason, {"from": old}
        )
        return old, desired.previous

    # -- driving ----------------------------------------------------------------------------

    def drive(self, rollout: Rollout) -> Rollout:
        """Run `rollout` until it succeeds, rolls back or is aborted; a pause waits."""
        me = controller_id()
        while True:
            rollout = self.store.get(rollout.id)
            if not rollout.active:
                return rollout
            self.store.heartbeat(rollout, me)
            if rollout.status == st.RUNNING:
                rollout = self.tick(rollout)
                if not rollout.active:
                    return rollout
            self._sleep(self._pause_for(rollout))

    def _pause_for(self, rollout: Rollout) -> float:
        left = self.config.step_duration_s - (st.now() - rollout.step_started_at).total_seconds()
        return max(
            0.05, min(self.config.analysis_interval_s, left if left > 0 else self.config.analysis_interval_s)
        )

    def tick(self, rollout: Rollout) -> Rollout:
        """One analysis of the current step and the decision it leads to."""
        self._apply_step(rollout)
        analysis = self.analyse(rollout)
        elapsed = (st.now() - rollout.step_started_at).total_seconds()
        decision = decide_step(analysis, dict(rollout.violations), elapsed_s=elapsed, config=self.config)
        if decision.action == ROLLBACK:
            return self._fail(rollout, analysis, list(decision.fired), decision.violations)
        if decision.action == ADVANCE:
            return self._advance(rollout, analysis)
        summary = self._summary(rollout, analysis, decision.violations)
        self._on_event(summary)
        return self.store.update(
            rollout,
            actor=self.actor,
            action="analysis",
            reason=summary,
            evidence=analysis.to_dict(),
            violations=decision.violations,
        )

    def analyse(self, rollout: Rollout) -> WindowAnalysis:
        window = LiveWindow(
            self.project.root,
            self.project.policy.task,
            self.logs.readable_root(),
            candidate_version=rollout.version,
            baseline_version=rollout.baseline_version,
            candidate_route="shadow" if rollout.percent == 0 else "canary",
        )
        return analyse(
            window,
            self.gates,
            since=rollout.step_started_at,
            baseline_since=rollout.started_at,
            min_requests=self.config.min_requests,
            scorer=self._scorer if any(c.type not in TRAFFIC_GATES for c, _ in self.gates) else None,
            counters=self._counter_window(rollout),
        )

    def _counter_window(self, rollout: Rollout) -> CounterWindow:
        """The servers' counts since the step (and the rollout) began, or since this controller
        took over a running one: each window's rates stay unbiased, it only holds less."""
        now = counters.snapshot(self.logs.readable(predlog.PREDICTIONS_DIR))
        step = self._snapshots.setdefault((rollout.id, rollout.step), now)
        whole = self._snapshots.setdefault(rollout.id, now)
        return CounterWindow(counters.window_counts(step, now), counters.window_counts(whole, now))

    def _snapshot_step(self, rollout: Rollout) -> None:
        """Remember the counters as a step begins (before its traffic changes)."""
        now = counters.snapshot(self.logs.readable(predlog.PREDICTIONS_DIR))
        self._snapshots.setdefault(rollout.id, now)
        self._snapshots[(rollout.id, rollout.step)] = now

    def _scorer(self, rows: Any) -> Any:
        return self._baseline_servable.outputs(rows)

    @cached_property
    def _baseline_servable(self) -> Any:
        from shipyard.training.packaging import ModelTrust, load_servable

        rollout = self.require_active()
        path = self.registry.download(rollout.baseline_version)
        return load_servable(path, ModelTrust.of(self.project.policy))

    def _summary(self, rollout: Rollout, analysis: WindowAnalysis, violations: dict[str, int]) -> str:
        step = f"step {rollout.step + 1}/{len(rollout.steps)} ({_traffic(rollout.percent)})"
        left = self.config.deadline_s - (st.now() - rollout.step_started_at).total_seconds()
        deadline = f"rolls back at the step deadline in {max(left, 0):.0f} s unless decided"
        if not analysis.enough:
            return (
                f"{step}: {analysis.requests} of {self.config.min_requests} canary requests so far; "
                f"waiting ({deadline})"
            )
        failing = ", ".join(
            f"{k} {n}/{self.config.consecutive_violations}" for k, n in sorted(violations.items())
        )
        waiting = ", ".join(r.check for r in analysis.waiting())
        return (
            f"{step}: {_tally(analysis)} on {analysis.requests} requests"
            + (f"; violations {failing}" if failing else "")
            + (f"; not enough data yet for {waiting} ({deadline})" if waiting else "")
        )

    def _deadline_message(self, analysis: WindowAnalysis, reason: str) -> str:
        deadline = f"{self.config.deadline_s:g} s (rollout.step_deadline_s)"
        if reason == Reason.NO_DATA_DEADLINE:
            return (
                f"no analysable data within the step's deadline of {deadline}: {analysis.requests} of "
                f"{self.config.min_requests} canary requests ({Reason.NO_DATA_DEADLINE.value})"
            )
        waiting = ", ".join(r.check for r in analysis.waiting()) or "none"
        return (
            f"rules still undecided at the step's deadline of {deadline}: {waiting} "
            f"({Reason.UNDECIDED_DEADLINE.value})"
        )

    def _advance(self, rollout: Rollout, analysis: WindowAnalysis) -> Rollout:
        if rollout.step + 1 >= len(rollout.steps):
            return self._succeed(rollout, analysis)
        step = rollout.step + 1
        message = f"advance to step {step + 1}/{len(rollout.steps)} ({_traffic(rollout.steps[step])})"
        self._on_event(f"{message}: {_tally(analysis)} on {analysis.requests} requests")
        rollout = self.store.update(
            rollout,
            actor=self.actor,
            action="advance",
            reason=message,
            evidence=analysis.to_dict(),
            step=step,
            step_started_at=st.now(),
            violations={},
        )
        if rollout.active:  # not ended by another process meanwhile
            self._snapshot_step(rollout)
            self._apply_step(rollout)
        return rollout

    def _succeed(self, rollout: Rollout, analysis: WindowAnalysis) -> Rollout:
        if not self.store.get(rollout.id).active:  # aborted by another process meanwhile
            return self.store.get(rollout.id)
        reason = f"rollout {rollout.id} passed {len(rollout.steps)} steps of live analysis"
        self.registry.promote(
            rollout.version,
            "production",
            actor=self.actor,
            reason=reason,
            report=json.dumps(analysis.to_dict()),
        )
        self._set_deploy(
            lambda s: s.model_copy(
                update={
                    "production": rollout.version,
                    "previous": rollout.baseline_version,
                    "canary": None,
                    "shadow": None,
                }
            ),
            f"promote {self.model} {rollout.version} to production ({reason})",
        )
        rollout = self.store.update(
            rollout,
            actor=self.actor,
            action="promote",
            reason=reason,
            evidence=analysis.to_dict(),
            status=st.SUCCEEDED,
        )
        self._on_event(
            f"Promoted version {rollout.version} to production; previous = {rollout.baseline_version}."
        )
        self._notify(rollout, "promotion", f"{self.model} v{rollout.version} promoted to production", reason)
        return rollout

    def _fail(
        self, rollout: Rollout, analysis: WindowAnalysis, fired: list[str], violations: dict[str, int]
    ) -> Rollout:
        # traffic first: every second of a bad canary costs users
        self._set_deploy(gitops.without_candidate, f"roll back canary {rollout.version} of {self.model}")
        messages = [r.message for r in analysis.report.failures if r.check in fired]
        messages += [self._deadline_message(analysis, reason) for reason in fired if reason in _DEADLINES]
        summary = f"version {rollout.version} rolled back at step {rollout.step + 1}: " + "; ".join(messages)
        evidence = {**analysis.to_dict(), "fired": fired, "violations": violations}
        info = self.registry.get(rollout.version)
        self.registry.promote(
            rollout.version,
            REJECTED,
            actor=self.actor,
            force=not info.approved,
            reason=summary,
            report=json.dumps(evidence, default=str),
        )
        incident = self.store.record_incident(rollout, summary, evidence)
        rollout = self.store.update(
            rollout,
            actor=self.actor,
            action="rollback",
            reason=summary,
            evidence=evidence,
            status=st.ROLLED_BACK,
            violations=violations,
        )
        self._on_event(f"Rolled back: {summary} (incident {incident})")
        self._notify(
            rollout,
            "incident",
            f"{self.model} v{rollout.version} rolled back automatically",
            summary,
            {"incident": str(incident)},
        )
        return rollout

    # -- deploy file, notifications ------------------------------------------------------------

    def desired(self) -> DesiredState | None:
        """The newest desired state (deploy file and state database in step), or None."""
        revision = current(self.deploy_path, self.desired_log, actor=self.actor)
        return None if revision is None else revision.state

    def _desired_or_initial(self) -> DesiredState:
        desired = self.desired()
        if desired is not None:
            return desired
        try:
            production = self.registry.get("production").version
        except ModelVersionNotFound:
            raise ConfigError(
                f"Model '{self.model}' has no production version to canary against, and neither "
                f"{self.deploy_path} nor the state database holds a desired state. Promote a first "
                "version: shipyard promote VERSION --to production."
            ) from None
        initial = gitops.initial_state(self.model, production)
        return self._write(
            lambda s: s or initial, f"first desired state of {self.model}: production {production}"
        )

    def _apply_step(self, rollout: Rollout) -> None:
        percent = rollout.percent
        self._set_deploy(
            lambda s: gitops.with_step(s, rollout.version, percent),
            f"rollout {rollout.id}: {self.model} {rollout.version} at {_traffic(percent)}",
        )

    def _set_deploy(self, change: Callable[[Any], DesiredState], message: str) -> None:
        """Apply `change` to the newest desired state: a revision in the state database and the
        deploy file (committed with git when `rollout.git_commit`)."""

        def apply(state: DesiredState | None) -> DesiredState:
            if state is None:
                raise ConfigError(
                    f"No desired state of model '{self.model}' in '{self.config.environment}': neither "
                    f"{self.deploy_path} nor the state database holds one. Start a rollout first."
                )
            return change(state)

        self._write(apply, message)

    def _write(self, change: Callable[[DesiredState | None], DesiredState], message: str) -> DesiredState:
        state, written = update(self.deploy_path, self.desired_log, change, actor=self.actor, reason=message)
        if written and self.config.git_commit:
            error = gitops.commit(self.deploy_path, message, actor=self.actor)
            if error:
                self._on_event(f"warning: {error}")
                self._record_problem("git_commit_failed", error)
        return state

    def _notify(
        self, rollout: Rollout | None, event: str, title: str, text: str, facts: dict[str, str] | None = None
    ) -> None:
        if self.notifier is None:
            return
        facts = {
            "model": self.model,
            "environment": self.config.environment,
            "actor": self.actor,
            **(facts or {}),
        }
        error = self.notifier.send(Notification(event, title, text, facts))
        if error:
            self._on_event(f"warning: {error}")
            self._record_problem("notify_failed", error, rollout)

    def _record_problem(self, action: str, error: str, rollout: Rollout | None = None) -> None:
        rollout = rollout or self.active() or self.store.latest(self.model, self.config.environment)
        if rollout is not None:
            self.store.log(rollout, actor=self.actor, action=action, reason=error)

    def driven_elsewhere(self, rollout: Rollout) -> bool:
        """Whether another live controller process drives `rollout`."""
        return controller_alive(rollout, stale_after_s=3 * self.config.analysis_interval_s + 10)


def _tally(analysis: WindowAnalysis) -> str:
    """`2 of 3 rules passed, 1 waiting for data`: a wait is not a pass."""
    results = analysis.report.results
    passed = sum(r.status is Status.PASSED for r in results)
    parts = [f"{passed} of {len(results)} rules passed"]
    if failed := len(analysis.violated()):
        parts.append(f"{failed} failed")
    if waiting := len(analysis.waiting()):
        parts.append(f"{waiting} waiting for data")
    return ", ".join(parts)


def _traffic(percent: float) -> str:
    return "shadow" if percent == 0 else f"{percent:g}% traffic"
