"""Non-inferiority against the production model: the candidate may not be clearly worse.

The gate bootstraps the paired difference of the metric on the test split and
orients it so that positive means "candidate better". It passes when the lower
bound of the one-sided `confidence` interval of that difference, i.e. its
(1 - confidence) percentile, is above `-tolerance`. That bound is the lower end
of the two-sided interval at level 2 * confidence - 1, which is what it asks
`paired_bootstrap` for.
"""

from __future__ import annotations

import math

from shipyard.core.params import STRING, Interval
from shipyard.core.results import CheckResult, Reason, Status
from shipyard.evaluation.metrics import METRICS, check_metric_names
from shipyard.evaluation.statistics import BootstrapResult, paired_bootstrap
from shipyard.gates.base import Gate, GateContext

_REGRESSION_HINT = (
    "The candidate is worse than production on this metric. Compare the two runs, "
    "or raise 'tolerance' if a small loss is acceptable."
)


class NoRegressionGate(Gate):
    """Pass unless the candidate is worse than production by more than `tolerance`, with
    `confidence`, in absolute units of `metric`.

    Examples
    --------
    >>> NoRegressionGate(metric="roc_auc", tolerance=0.005)
    NoRegressionGate(metric='roc_auc', tolerance=0.005)
    """

    type_name = "no_regression"
    _parameter_constraints = {
        "metric": [STRING],
        "tolerance": [Interval(float, 0, 1)],
        "confidence": [Interval(float, 0.5, 1, "neither")],
        "n_resamples": [Interval(int, 100, None, "left")],
    }

    def __init__(
        self,
        *,
        metric: str,
        tolerance: float = 0.01,
        confidence: float = 0.95,
        n_resamples: int = 1000,
    ) -> None:
        self.metric = metric
        self.tolerance = tolerance
        self.confidence = confidence
        self.n_resamples = n_resamples

    def _result(self, status: Status, message: str, **fields: object) -> CheckResult:
        return CheckResult(
            check=self.type_name, status=status, message=message, subject=self.metric, **fields
        )

    def evaluate(self, ctx: GateContext) -> CheckResult:
        if ctx.baseline is None:
            return self._result(
                Status.SKIPPED,
                f"there is no production model yet, so {self.metric} has nothing to regress "
                "from; the first model is judged by the other gates",
                reason=Reason.NO_BASELINE,
            )
        check_metric_names(ctx.task, [self.metric], where=f"gate '{self.type_name}'")
        metric = METRICS[self.metric]
        boot = paired_bootstrap(
            metric,
            ctx.y_true,
            ctx.candidate,
            ctx.baseline,
            n_resamples=self.n_resamples,
            confidence=round(2 * self.confidence - 1, 12),
            seed=ctx.seed,
        )
        sign = 1.0 if metric.greater_is_better else -1.0
        oriented = sign * boot.observed_difference
        lower = boot.low if metric.greater_is_better else -boot.high
        evidence = self._evidence(boot, oriented, lower, ctx.baseline_version)
        level = f"{self.confidence * 100:g}%"
        if math.isnan(lower) or math.isnan(oriented):
            return self._result(
                Status.FAILED,
                f"{self.metric} could not be compared with production: it is undefined on the "
                f"test split or on {boot.n_dropped} of {boot.n_resamples} resamples -> FAIL",
                reason=Reason.INCONCLUSIVE,
                hint="Check that both models output probabilities and that the test split "
                "holds every class; a larger test split helps.",
                evidence=evidence,
            )
        change = "difference" if metric.greater_is_better else "improvement"
        direction = "" if metric.greater_is_better else " (lower is better)"
        passed = lower > -self.tolerance
        margin = f"-{self.tolerance:.4g}" if self.tolerance else "0"
        verdict = f"> {margin}" if passed else f"<= {margin}"
        verdict += f" (tolerance) -> {'PASS' if passed else 'FAIL'}"
        message = (
            f"{self.metric} = {boot.candidate_value:.4g}, production = {boot.baseline_value:.4g}, "
            f"{change} {oriented:+.4g}{direction}, {level} lower bound {lower:+.4g} {verdict}"
        )
        return self._result(
            Status.PASSED if passed else Status.FAILED,
            message,
            reason=None if passed else Reason.REGRESSION,
            observed=boot.candidate_value,
            expected=f"no worse than production {boot.baseline_value:.4g} by more than "
            f"{self.tolerance:g} at {level} confidence",
            hint="" if passed else _REGRESSION_HINT,
            evidence=evidence,
        )

    def _evidence(
        self, boot: BootstrapResult, oriented: float, lower: float, version: str | None
    ) -> dict[str, object]:
        return {
            "metric": self.metric,
            "baseline_version": version,
            "candidate_value": boot.candidate_value,
            "baseline_value": boot.baseline_value,
            "observed_difference": boot.observed_difference,
            "oriented_difference": oriented,
            "lower_bound": lower,
            "tolerance": self.tolerance,
            "confidence": self.confidence,
            "interval_low": boot.low,
            "interval_high": boot.high,
            "interval_confidence": boot.confidence,
            "n_resamples": boot.n_resamples,
            "n_dropped": boot.n_dropped,
        }
