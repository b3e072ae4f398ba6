"""What a rollout step does after one analysis: roll back, advance, wait, or give up at its deadline.

A pure function of the analysis, the violation counts so far and the step's age, so the
controller and the simulation harness (`benchmarks/canary.py`) run the same decision.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.config.policy import RolloutConfig
from shipyard.core.results import Reason, Status
from shipyard.delivery.analysis import WindowAnalysis

ROLLBACK, ADVANCE, WAIT = "rollback", "advance", "wait"


@dataclass(frozen=True)
class StepDecision:
    """`action` is one of ROLLBACK, ADVANCE, WAIT; `fired` names the rules (or the deadline
    reason code) behind a rollback."""

    action: str
    violations: dict[str, int]
    fired: tuple[str, ...] = ()
    reason: Reason | None = None


def decide_step(
    analysis: WindowAnalysis, violations: dict[str, int], *, elapsed_s: float, config: RolloutConfig
) -> StepDecision:
    """A rule that failed `consecutive_violations` analyses in a row rolls back. A step that ran
    `step_duration_s` with every rule decided and none failed advances. A step still undecided
    at its deadline rolls back: with too few requests (`no_data_deadline`) or with rules still
    waiting for data (`undecided_deadline`); a canary never holds traffic without evidence.
    """
    counts = dict(violations)
    failed = {r.check for r in analysis.violated()}
    for result in analysis.report.results:
        if result.check in failed:
            counts[result.check] = counts.get(result.check, 0) + 1
        elif result.status is Status.PASSED:
            counts.pop(result.check, None)
    fired = tuple(sorted(k for k, n in counts.items() if n >= config.consecutive_violations))
    if fired:
        return StepDecision(ROLLBACK, counts, fired)
    decided = analysis.enough and not failed and not analysis.waiting()
    if elapsed_s >= config.step_duration_s and decided:
        return StepDecision(ADVANCE, counts)
    if elapsed_s >= config.deadline_s:
        reason = Reason.UNDECIDED_DEADLINE if analysis.enough else Reason.NO_DATA_DEADLINE
        return StepDecision(ROLLBACK, counts, (reason.value,), reason)
    return StepDecision(WAIT, counts)
