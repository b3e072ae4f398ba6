"""The four retraining triggers, each a pure function of what was measured.

A trigger never retrains by itself: it returns a `TriggerResult` saying whether it
fired and why, with the numbers behind it, so every decision can be audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TriggerResult:
    """Whether one trigger fired, a sentence saying why, and the measured evidence."""

    trigger: str
    fired: bool
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "fired": self.fired,
            "message": self.message,
            "evidence": self.evidence,
        }


def schedule_trigger(cron: str, last_trained: datetime | None, now: datetime) -> TriggerResult:
    """Fires when a tick of `cron` (UTC) fell after the last training, or nothing was ever trained."""
    from croniter import croniter

    if last_trained is None:
        return TriggerResult("schedule", True, "no model has been trained yet", {"cron": cron})
    due = croniter(cron, last_trained).get_next(datetime)
    fired = due <= now
    when = f"the schedule '{cron}' was due at {due.isoformat(timespec='minutes')}"
    message = f"{when}, after the last training" if fired else f"not due: {when}"
    evidence = {"cron": cron, "last_trained": last_trained.isoformat(), "due": due.isoformat()}
    return TriggerResult("schedule", fired, message, evidence)


def new_labels_trigger(count: int, minimum: int) -> TriggerResult:
    """Fires when at least `minimum` labelled rows arrived since the last training."""
    fired = count >= minimum
    relation = ">=" if fired else "<"
    message = f"{count} new labelled rows since the last training {relation} {minimum}"
    return TriggerResult("new_labels", fired, message, {"count": count, "minimum": minimum})


def drift_trigger(drifted: list[str], n_features: int, failures: list[str]) -> TriggerResult:
    """Fires when the drift check failed (what makes `shipyard monitor drift` exit 1): dataset
    drift, prediction drift, or a feature configured with severity `fail`."""
    named = f" ({', '.join(drifted[:5])}{', ...' if len(drifted) > 5 else ''})" if drifted else ""
    counted = f"{len(drifted)} of {n_features} features drifted{named}"
    evidence = {"drifted": drifted, "n_features": n_features, "failures": failures}
    if not failures:
        return TriggerResult("drift", False, f"drift check passed: {counted}", evidence)
    more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
    return TriggerResult("drift", True, f"{failures[0]}{more}; {counted}", evidence)


def degradation_trigger(alerts: list[str], n_labels: int) -> TriggerResult:
    """Fires when a concept-drift detector or a rolling metric alerted on the labelled traffic."""
    evidence = {"alerts": alerts, "n_labels": n_labels}
    if not n_labels:
        return TriggerResult("degradation", False, "no labelled traffic to judge the model on", evidence)
    if not alerts:
        return TriggerResult("degradation", False, f"no alert on {n_labels} labelled predictions", evidence)
    more = f" (and {len(alerts) - 1} more)" if len(alerts) > 1 else ""
    return TriggerResult("degradation", True, f"{alerts[0]}{more}", evidence)
