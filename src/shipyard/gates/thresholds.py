"""Absolute floors and ceilings on a metric of the candidate model."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Self

from shipyard.core.params import NONE, STRING, Interval
from shipyard.core.results import CheckResult, Reason, Status
from shipyard.errors import ConfigError
from shipyard.evaluation.metrics import compute_metrics
from shipyard.gates.base import Gate, GateContext


def require_any(owner: str, params: Mapping[str, Any], names: Sequence[str]) -> None:
    """Raise `ConfigError` unless at least one of `names` is set (not None)."""
    if all(params.get(name) is None for name in names):
        options = ", ".join(f"'{n}'" for n in names)
        raise ConfigError(f"{owner} needs at least one of the options {options}. Got none.")


def _check_bounds(owner: str, params: Mapping[str, Any]) -> None:
    require_any(owner, params, ("min", "max"))
    low, high = params.get("min"), params.get("max")
    if low is not None and high is not None and low > high:
        raise ConfigError(
            f"The 'min' option of {owner} ({low!r}) is above its 'max' ({high!r}), "
            "so no model could pass. Swap them or fix the typo."
        )


class MetricThresholdGate(Gate):
    """Pass when `min <= metric <= max` on the test split (either bound may be omitted).

    Examples
    --------
    >>> MetricThresholdGate(metric="roc_auc", min=0.8)
    MetricThresholdGate(metric='roc_auc', min=0.8)
    """

    type_name = "metric_threshold"
    _parameter_constraints = {
        "metric": [STRING],
        "min": [Interval(float), NONE],
        "max": [Interval(float), NONE],
    }

    def __init__(self, *, metric: str, min: float | None = None, max: float | None = None) -> None:
        self.metric = metric
        self.min = min
        self.max = max

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, label: str | None = None) -> Self:
        gate = super().from_params(params, label=label)
        _check_bounds(f"gate '{label or cls.type_name}'", params)
        return gate

    def _value(self, ctx: GateContext) -> tuple[float, bool]:
        """The metric from ctx, computed here when the evaluation did not include it."""
        if self.metric in ctx.metrics:
            return float(ctx.metrics[self.metric]), False
        computed = compute_metrics(ctx.task, ctx.y_true, ctx.candidate, [self.metric])
        return computed[self.metric], True

    def evaluate(self, ctx: GateContext) -> CheckResult:
        _check_bounds(f"gate '{self.type_name}'", self.get_params())
        value, computed = self._value(ctx)
        low = -math.inf if self.min is None else self.min
        high = math.inf if self.max is None else self.max
        expected = f"[{low:g}, {high:g}]"
        evidence = {
            "metric": self.metric,
            "value": value,
            "min": self.min,
            "max": self.max,
            "computed_by_gate": computed,
        }
        retune = "Improve the model, or change the threshold in shipyard.yaml if the need changed."
        if math.isnan(value):
            status, reason = Status.FAILED, Reason.INCONCLUSIVE
            message = (
                f"{self.metric} could not be computed on the test split (e.g. one class "
                "only, or no probability scores), so the threshold cannot be checked"
            )
            hint = "Check the test split's labels and that the model outputs probabilities."
        elif value < low:
            status, reason, hint = Status.FAILED, Reason.METRIC_BELOW_MINIMUM, retune
            message = f"{self.metric} = {value:.4g} is below the minimum {low:g} -> FAIL"
        elif value > high:
            status, reason, hint = Status.FAILED, Reason.METRIC_ABOVE_MAXIMUM, retune
            message = f"{self.metric} = {value:.4g} is above the maximum {high:g} -> FAIL"
        else:
            status, reason, hint = Status.PASSED, None, ""
            message = f"{self.metric} = {value:.4g} is within {expected} -> PASS"
        return CheckResult(
            check=self.type_name,
            status=status,
            message=message,
            subject=self.metric,
            reason=reason,
            observed=value,
            expected=expected,
            hint=hint,
            evidence=evidence,
        )
