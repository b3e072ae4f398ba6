"""Gates that judge a model on traffic: error rate, latency against production, confidence,
prediction shift (PSI) and shadow agreement.

They run offline in the gate stage (where the figure exists) and on every live window of a
rollout, where `ctx.candidate` holds the canary's logged outputs, `ctx.baseline` production's
outputs on the same time window, and `ctx.performance` the window's figures: `error_rate`,
`latency_p<q>_ms`, the same with a `baseline_` prefix for production, and `shadow_agreement`.
A figure that was not measured makes the gate `skipped`, never a failure.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from shipyard.core.params import NONE, Interval, Options
from shipyard.core.results import CheckResult, Reason, Status
from shipyard.evaluation.outputs import ModelOutputs
from shipyard.gates.base import Gate, GateContext
from shipyard.gates.thresholds import require_any

#: gate types that read traffic figures and outputs only; live analysis gives every other
#: gate type the rows that have feedback labels instead
TRAFFIC_GATES = frozenset(
    {"performance", "output_contract", "error_rate", "latency_ratio", "mean_confidence", "prediction_shift"}
    | {"shadow_agreement"}
)


def _skipped(gate: Gate, subject: str, message: str, reason: Reason = Reason.NOT_MEASURED) -> CheckResult:
    return CheckResult(
        check=gate.type_name, status=Status.SKIPPED, message=message, subject=subject, reason=reason
    )


def _verdict(
    gate: Gate,
    passed: bool,
    *,
    subject: str,
    message: str,
    reason: Reason,
    observed: float,
    expected: Any,
    hint: str,
    evidence: dict[str, Any],
) -> CheckResult:
    """A threshold result: `reason` and `hint` apply only when it failed."""
    return CheckResult(
        check=gate.type_name,
        status=Status.PASSED if passed else Status.FAILED,
        message=message,
        subject=subject,
        reason=None if passed else reason,
        observed=observed,
        expected=expected,
        hint="" if passed else hint,
        evidence=evidence,
    )


def _figure(ctx: GateContext, name: str) -> float | None:
    value = ctx.performance.get(name)
    return None if value is None or math.isnan(float(value)) else float(value)


class ErrorRateGate(Gate):
    """Pass when the share of failed predictions is at most `max`, and at most `max_increase`
    above production's on the same window. Measured on live traffic only.

    Examples
    --------
    >>> ErrorRateGate(max=0.01)
    ErrorRateGate(max=0.01)
    """

    type_name = "error_rate"
    _parameter_constraints = {
        "max": [Interval(float, 0, 1), NONE],
        "max_increase": [Interval(float, 0, 1), NONE],
    }

    def __init__(self, *, max: float | None = None, max_increase: float | None = None) -> None:
        self.max = max
        self.max_increase = max_increase

    def evaluate(self, ctx: GateContext) -> CheckResult:
        require_any(f"gate '{self.type_name}'", self.get_params(), ["max", "max_increase"])
        rate = _figure(ctx, "error_rate")
        if rate is None:
            return _skipped(
                self, "error_rate", "error_rate is measured on live traffic only (rollout analysis)"
            )
        base = _figure(ctx, "baseline_error_rate")
        broken = []
        if self.max is not None and rate > self.max:
            broken.append(f"error_rate = {rate:.2%} > {self.max:.2%}")
        if self.max_increase is not None and base is not None and rate - base > self.max_increase:
            broken.append(
                f"error_rate = {rate:.2%}, production {base:.2%}: "
                f"+{rate - base:.2%} > {self.max_increase:.2%}"
            )
        evidence = {
            "error_rate": rate,
            "baseline_error_rate": base,
            "requests": ctx.performance.get("requests"),
        }
        expected = {"max": self.max, "max_increase": self.max_increase}
        versus = "" if base is None else f" (production {base:.2%})"
        return _verdict(
            self,
            not broken,
            subject="error_rate",
            message="; ".join(broken) + " -> FAIL" if broken else f"error_rate = {rate:.2%}{versus} -> PASS",
            reason=Reason.ERROR_RATE_ABOVE_LIMIT,
            observed=rate,
            expected=expected,
            hint="The new version fails requests: see the server log for its errors.",
            evidence=evidence,
        )


class LatencyRatioGate(Gate):
    """Pass when the candidate's latency percentile is at most `max_ratio` times production's.

    Examples
    --------
    >>> LatencyRatioGate(max_ratio=1.5)
    LatencyRatioGate(max_ratio=1.5)
    """

    type_name = "latency_ratio"
    _parameter_constraints = {
        "max_ratio": [Interval(float, 1, None)],
        "percentile": [Options(frozenset({50, 95, 99}))],
    }

    def __init__(self, *, max_ratio: float = 1.5, percentile: int = 99) -> None:
        self.max_ratio = max_ratio
        self.percentile = percentile

    def evaluate(self, ctx: GateContext) -> CheckResult:
        figure = f"latency_p{self.percentile}_ms"
        value, base = _figure(ctx, figure), _figure(ctx, f"baseline_{figure}")
        if value is None or base is None:
            return _skipped(
                self, figure, f"{figure} of the candidate and of production were not both measured"
            )
        ratio = value / base if base > 0 else math.inf
        passed = ratio <= self.max_ratio
        message = (
            f"{figure} = {value:.4g} ms, production {base:.4g} ms: {ratio:.2f}x "
            f"{'<=' if passed else '>'} {self.max_ratio:g}x -> {'PASS' if passed else 'FAIL'}"
        )
        return _verdict(
            self,
            passed,
            subject=figure,
            message=message,
            reason=Reason.LATENCY_RATIO_ABOVE_LIMIT,
            observed=ratio,
            expected=f"<= {self.max_ratio:g}x production",
            hint="The new version is slower than production: profile it, or raise max_ratio.",
            evidence={figure: value, f"baseline_{figure}": base, "ratio": ratio},
        )


def mean_confidence(outputs: ModelOutputs) -> float:
    """Mean over rows of the highest class probability; nan without probabilities or rows."""
    if outputs.y_score is None or len(outputs.y_score) == 0:
        return math.nan
    return float(np.nanmean(np.max(np.asarray(outputs.y_score, dtype=float), axis=1)))


class MeanConfidenceGate(Gate):
    """Pass when the mean top-class probability is at least `min` and has dropped by at most
    `max_drop` from production's (classifiers with probabilities).

    Examples
    --------
    >>> MeanConfidenceGate(min=0.7)
    MeanConfidenceGate(min=0.7)
    """

    type_name = "mean_confidence"
    _parameter_constraints = {"min": [Interval(float, 0, 1), NONE], "max_drop": [Interval(float, 0, 1), NONE]}

    def __init__(self, *, min: float | None = None, max_drop: float | None = None) -> None:
        self.min = min
        self.max_drop = max_drop

    def evaluate(self, ctx: GateContext) -> CheckResult:
        require_any(f"gate '{self.type_name}'", self.get_params(), ["min", "max_drop"])
        value = mean_confidence(ctx.candidate)
        if math.isnan(value):
            return _skipped(self, "confidence", "no class probabilities to measure confidence on")
        base = mean_confidence(ctx.baseline) if ctx.baseline is not None else math.nan
        broken = []
        if self.min is not None and value < self.min:
            broken.append(f"mean confidence {value:.3f} < {self.min:g}")
        if self.max_drop is not None and not math.isnan(base) and base - value > self.max_drop:
            broken.append(
                f"mean confidence {value:.3f}, production {base:.3f}: dropped by more than {self.max_drop:g}"
            )
        return _verdict(
            self,
            not broken,
            subject="confidence",
            message=("; ".join(broken) + " -> FAIL") if broken else f"mean confidence {value:.3f} -> PASS",
            reason=Reason.CONFIDENCE_BELOW_LIMIT,
            observed=value,
            expected={"min": self.min, "max_drop": self.max_drop},
            hint="The model is less sure of its answers: check the inputs for drift.",
            evidence={
                "mean_confidence": value,
                "baseline_mean_confidence": None if math.isnan(base) else base,
            },
        )


def population_stability_index(reference: np.ndarray, current: np.ndarray, *, bins: int = 10) -> float:
    """PSI of `current` against `reference`: numeric values in `bins` reference quantile bins,
    other values by category. 0 means the same distribution; above 0.2 is usually a shift.

    Examples
    --------
    >>> round(population_stability_index(np.arange(100.0), np.arange(100.0)), 6)
    0.0
    """
    reference, current = np.asarray(reference), np.asarray(current)
    if len(reference) == 0 or len(current) == 0:
        return math.nan
    if np.issubdtype(reference.dtype, np.number) and np.issubdtype(current.dtype, np.number):
        edges = np.unique(np.quantile(reference.astype(float), np.linspace(0, 1, bins + 1)[1:-1]))
        ref_counts = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1)
        cur_counts = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1)
    else:
        categories = np.union1d(reference.astype(str), current.astype(str))
        ref_counts = np.array([np.sum(reference.astype(str) == c) for c in categories])
        cur_counts = np.array([np.sum(current.astype(str) == c) for c in categories])
    eps = 1e-4
    ref_p = np.clip(ref_counts / ref_counts.sum(), eps, None)
    cur_p = np.clip(cur_counts / cur_counts.sum(), eps, None)
    return float(np.sum((cur_p - ref_p) * np.log(cur_p / ref_p)))


def _distribution(outputs: ModelOutputs) -> np.ndarray:
    """What a prediction shift is measured on: the positive-class score of a binary classifier,
    else the predicted labels (classifiers) or values (regressors)."""
    if outputs.y_score is not None and np.asarray(outputs.y_score).shape[1] == 2:
        return np.asarray(outputs.y_score, dtype=float)[:, -1]
    return np.asarray(outputs.y_pred)


class PredictionShiftGate(Gate):
    """Pass when the PSI of the candidate's predictions against production's is at most `max_psi`;
    skipped on fewer than `min_rows` candidate predictions, where PSI is mostly noise.

    Examples
    --------
    >>> PredictionShiftGate(max_psi=0.1)
    PredictionShiftGate(max_psi=0.1)
    """

    type_name = "prediction_shift"
    _parameter_constraints = {
        "max_psi": [Interval(float, 0, None, "neither")],
        "bins": [Interval(int, 2, 100)],
        "min_rows": [Interval(int, 1, None)],
    }
    needs = frozenset({"baseline"})

    def __init__(self, *, max_psi: float = 0.2, bins: int = 10, min_rows: int = 200) -> None:
        self.max_psi = max_psi
        self.bins = bins
        self.min_rows = min_rows

    def evaluate(self, ctx: GateContext) -> CheckResult:
        if ctx.baseline is None:
            return _skipped(
                self, "predictions", "no production predictions to compare with", Reason.NO_BASELINE
            )
        rows = len(ctx.candidate.y_pred)
        if rows < self.min_rows:
            # PSI over 10 bins reads ~0.2 on 60 rows of one same distribution: too noisy to judge
            return _skipped(self, "predictions", f"{rows} predictions, fewer than min_rows {self.min_rows}")
        psi = population_stability_index(
            _distribution(ctx.baseline), _distribution(ctx.candidate), bins=self.bins
        )
        if math.isnan(psi):
            return _skipped(self, "predictions", "no predictions in the window to compare")
        passed = psi <= self.max_psi
        return _verdict(
            self,
            passed,
            subject="predictions",
            message=f"PSI of predictions against production = {psi:.3f} "
            f"{'<=' if passed else '>'} {self.max_psi:g} -> {'PASS' if passed else 'FAIL'}",
            reason=Reason.PREDICTION_SHIFT,
            observed=psi,
            expected=f"<= {self.max_psi:g}",
            hint="The new version predicts a different distribution: compare them on recent data.",
            evidence={"psi": psi, "bins": self.bins, "rows": len(ctx.candidate.y_pred)},
        )


class ShadowAgreementGate(Gate):
    """Pass when the candidate gives production's answer on at least `min_agreement` of the same
    rows: the shadow route live, the test split offline.

    Examples
    --------
    >>> ShadowAgreementGate(min_agreement=0.95)
    ShadowAgreementGate(min_agreement=0.95)
    """

    type_name = "shadow_agreement"
    _parameter_constraints = {"min_agreement": [Interval(float, 0, 1)]}
    needs = frozenset({"baseline"})

    def __init__(self, *, min_agreement: float = 0.9) -> None:
        self.min_agreement = min_agreement

    def _agreement(self, ctx: GateContext) -> float | None:
        if "shadow_agreement" in ctx.performance:
            return _figure(ctx, "shadow_agreement")
        if (
            ctx.baseline is None
            or len(ctx.baseline.y_pred) != len(ctx.candidate.y_pred)
            or not len(ctx.y_true)
        ):
            return None
        pairs: Any = np.asarray(ctx.candidate.y_pred).astype(str) == np.asarray(ctx.baseline.y_pred).astype(
            str
        )
        return float(np.mean(pairs))

    def evaluate(self, ctx: GateContext) -> CheckResult:
        agreement = self._agreement(ctx)
        if agreement is None:
            return _skipped(self, "agreement", "no rows scored by both the candidate and production")
        passed = agreement >= self.min_agreement
        return _verdict(
            self,
            passed,
            subject="agreement",
            message=f"agreement with production = {agreement:.2%} "
            f"{'>=' if passed else '<'} {self.min_agreement:.2%} -> {'PASS' if passed else 'FAIL'}",
            reason=Reason.SHADOW_DISAGREEMENT,
            observed=agreement,
            expected=f">= {self.min_agreement:g}",
            hint="The new version answers differently from production on the same rows.",
            evidence={"agreement": agreement},
        )
