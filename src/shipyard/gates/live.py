"""Gates that judge a model on traffic: error rate, latency against production, confidence,
prediction shift (PSI) and shadow agreement.

They run offline in the gate stage (where their data exist) and on every live window of a
rollout, where `ctx.candidate` holds the canary's logged outputs, `ctx.baseline` production's
outputs on the same time window, and `ctx.traffic` both routes' requests, errors and model
calls. Each decides with an interval at the window's sample size and returns one of three
verdicts: `passed` (shown within its limit), `failed` (worse than production beyond noise
AND beyond its limit) or `skipped` with reason `not_enough_data` (neither yet: wait for
more traffic). A figure that was not measured makes the gate `skipped` (`not_measured`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from shipyard.core.params import NONE, Interval, Options
from shipyard.core.results import CheckResult, Reason, Status
from shipyard.evaluation.outputs import ModelOutputs
from shipyard.evaluation.traffic import (
    difference_bounds,
    latency_log_ratio,
    mean_bounds,
    mover,
    psi_noise,
    wilson_bounds,
    z_of,
)
from shipyard.gates.base import Gate, GateContext
from shipyard.gates.thresholds import require_any

#: rules with nothing to measure offline (no requests fail, no route is timed in the gate
#: stage), each with the offline gate that measures the same thing; refused under `gates:`
LIVE_ONLY_GATES = {
    "error_rate": "{type: output_contract} (outputs that could not be served)",
    "latency_ratio": "{type: performance, max_latency_ratio: 1.5} (both models timed side by side)",
}

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


PASS, FAIL, WAIT = "pass", "fail", "wait"
_ALPHA = [Interval(float, 0, 0.5, "neither")]
_OPTIONAL_SHARE = [Interval(float, 0, 1), NONE]


def _verdict(
    gate: Gate,
    verdict: str,
    *,
    subject: str,
    message: str,
    reason: Reason,
    observed: float,
    expected: Any,
    hint: str,
    evidence: dict[str, Any],
) -> CheckResult:
    """A three-way result: `reason` and `hint` apply only when it failed; a wait is a skip
    with reason `not_enough_data`, which a rollout step waits on and never rolls back for."""
    status = {PASS: Status.PASSED, FAIL: Status.FAILED, WAIT: Status.SKIPPED}[verdict]
    word = {PASS: "PASS", FAIL: "FAIL", WAIT: "not enough data yet, WAIT"}[verdict]
    return CheckResult(
        check=gate.type_name,
        status=status,
        message=f"{message} -> {word}",
        subject=subject,
        reason={PASS: None, FAIL: reason, WAIT: Reason.NOT_ENOUGH_DATA}[verdict],
        observed=observed,
        expected=expected,
        hint={PASS: "", FAIL: hint, WAIT: "The step waits for more traffic, up to its deadline."}[verdict],
        evidence=evidence,
    )


def _judge_max(value: float, high: float, limit: float, *, worse: bool) -> str:
    """FAIL when the canary is worse than production beyond noise (`worse`) AND `value` is
    above `limit`; PASS when the upper bound `high` is within `limit`; otherwise WAIT."""
    if worse and value > limit:
        return FAIL
    return PASS if high <= limit else WAIT


def _judge_min(low: float, high: float, limit: float) -> str:
    """FAIL when even the upper bound is below `limit`; PASS when the lower bound reaches it;
    otherwise WAIT."""
    if high < limit:
        return FAIL
    return PASS if low >= limit else WAIT


def _combine(verdicts: list[str]) -> str:
    """Any failed bound fails; all shown within their limits pass; else wait."""
    if FAIL in verdicts:
        return FAIL
    return PASS if all(v == PASS for v in verdicts) else WAIT


def _bound(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else ("inf" if value > 0 else "-inf")


class ErrorRateGate(Gate):
    """Fail when the canary fails more requests than production beyond noise (the one-sided
    `1 - alpha` lower bound of the difference, Newcombe's score method, is above 0) AND its
    rate is above `max`, or above production's by more than `max_increase`. Pass when the
    upper bound shows the rate within those limits; otherwise wait. Live traffic only.

    Examples
    --------
    >>> ErrorRateGate(max_increase=0.02)
    ErrorRateGate(max_increase=0.02)
    """

    type_name = "error_rate"
    _parameter_constraints = {"max": _OPTIONAL_SHARE, "max_increase": _OPTIONAL_SHARE, "alpha": _ALPHA}

    def __init__(
        self, *, max: float | None = None, max_increase: float | None = None, alpha: float = 0.05
    ) -> None:
        self.max = max
        self.max_increase = max_increase
        self.alpha = alpha

    def evaluate(self, ctx: GateContext) -> CheckResult:
        require_any(f"gate '{self.type_name}'", self.get_params(), ["max", "max_increase"])
        if ctx.traffic is None or ctx.traffic.candidate.requests == 0:
            return _skipped(
                self, "error_rate", "error_rate is measured on live traffic only (rollout analysis)"
            )
        can, base = ctx.traffic.candidate, ctx.traffic.baseline
        z = z_of(self.alpha)
        rate, base_rate = can.errors / can.requests, (base.errors / base.requests if base.requests else 0.0)
        diff, low, high = difference_bounds(can.errors, can.requests, base.errors, base.requests, z=z)
        worse = low > 0
        verdicts, parts = [], []
        if self.max is not None:
            rate_high = wilson_bounds(can.errors, can.requests, z=z)[1]
            verdicts.append(_judge_max(rate, rate_high, self.max, worse=worse))
            parts.append(f"upper bound {_bound(rate_high)} vs max {self.max:g}")
        if self.max_increase is not None:
            verdicts.append(_judge_max(diff, high, self.max_increase, worse=worse))
            parts.append(
                f"increase {diff:+.2%}, bounds [{_bound(low)}, {_bound(high)}] vs {self.max_increase:g}"
            )
        verdict = _combine(verdicts)
        message = (
            f"error_rate = {rate:.2%} ({can.errors}/{can.requests}, from the {can.error_source}), "
            f"production {base_rate:.2%} ({base.errors}/{base.requests}); " + "; ".join(parts)
        )
        return _verdict(
            self,
            verdict,
            subject="error_rate",
            message=message,
            reason=Reason.ERROR_RATE_ABOVE_LIMIT,
            observed=rate,
            expected={"max": self.max, "max_increase": self.max_increase, "alpha": self.alpha},
            hint="The new version fails requests: see the server log for its errors.",
            evidence={
                "error_rate": rate,
                "baseline_error_rate": base_rate,
                "errors": can.errors,
                "requests": can.requests,
                "baseline_errors": base.errors,
                "baseline_requests": base.requests,
                "increase_bounds": [low, high],
                "error_source": can.error_source,
            },
        )


class LatencyRatioGate(Gate):
    """Fail when the canary's model time is above production's beyond noise (the lower bound
    of the log-ratio of the `percentile` quantiles is above 0) AND the ratio is above
    `max_ratio`; pass when the upper bound is within `max_ratio`; otherwise wait.

    Both routes are measured alike: each model call against production's calls of the same
    batch size, or per row (see `shipyard.evaluation.traffic.latency_log_ratio`).

    Examples
    --------
    >>> LatencyRatioGate(max_ratio=1.25)
    LatencyRatioGate(max_ratio=1.25)
    """

    type_name = "latency_ratio"
    _parameter_constraints = {
        "max_ratio": [Interval(float, 1, None)],
        "percentile": [Options(frozenset({50, 90, 95, 99}))],
        "alpha": _ALPHA,
    }

    def __init__(self, *, max_ratio: float = 1.3, percentile: int = 50, alpha: float = 0.05) -> None:
        self.max_ratio = max_ratio
        self.percentile = percentile
        self.alpha = alpha

    def evaluate(self, ctx: GateContext) -> CheckResult:
        subject = f"latency_p{self.percentile}"
        traffic = ctx.traffic
        if traffic is None:
            return _skipped(
                self, subject, "model call times are measured on live traffic only (rollout analysis)"
            )
        if not len(traffic.candidate.latency_ms) or not len(traffic.baseline.latency_ms):
            return _skipped(
                self,
                subject,
                "no logged model calls of the canary or of production yet",
                Reason.NOT_ENOUGH_DATA,
            )
        log_ratio, low, high, how = latency_log_ratio(
            traffic.candidate, traffic.baseline, q=self.percentile / 100, z=z_of(self.alpha)
        )
        ratio, limit = math.exp(log_ratio), math.log(self.max_ratio)
        verdict = _judge_max(log_ratio, high, limit, worse=low > 0)
        bounds = f"[{_bound(math.exp(low))}x, {_bound(math.exp(high))}x]"
        message = (
            f"{subject} model time = {ratio:.2f}x production ({how}, {len(traffic.candidate.latency_ms)} "
            f"canary calls), bounds {bounds} vs max {self.max_ratio:g}x"
        )
        return _verdict(
            self,
            verdict,
            subject=subject,
            message=message,
            reason=Reason.LATENCY_RATIO_ABOVE_LIMIT,
            observed=ratio,
            expected=f"<= {self.max_ratio:g}x production",
            hint="The new version is slower than production: profile it, or raise max_ratio.",
            evidence={
                "ratio": ratio,
                "bounds": [math.exp(low), math.exp(high)],
                "compared": how,
                "calls": len(traffic.candidate.latency_ms),
                "baseline_calls": len(traffic.baseline.latency_ms),
            },
        )


class MeanConfidenceGate(Gate):
    """Mean top-class probability (classifiers with probabilities): fail when it is below `min`
    beyond noise, or has dropped from production's beyond noise AND by more than `max_drop`;
    pass when the bounds show it within both; otherwise wait.

    Examples
    --------
    >>> MeanConfidenceGate(min=0.7)
    MeanConfidenceGate(min=0.7)
    """

    type_name = "mean_confidence"
    _parameter_constraints = {"min": _OPTIONAL_SHARE, "max_drop": _OPTIONAL_SHARE, "alpha": _ALPHA}

    def __init__(
        self, *, min: float | None = None, max_drop: float | None = None, alpha: float = 0.05
    ) -> None:
        self.min = min
        self.max_drop = max_drop
        self.alpha = alpha

    def evaluate(self, ctx: GateContext) -> CheckResult:
        require_any(f"gate '{self.type_name}'", self.get_params(), ["min", "max_drop"])
        top = _top_scores(ctx.candidate)
        if top is None and ctx.traffic is not None and not len(ctx.candidate.y_pred):
            return _skipped(self, "confidence", "no canary predictions yet", Reason.NOT_ENOUGH_DATA)
        if top is None:
            return _skipped(self, "confidence", "no class probabilities to measure confidence on")
        z = z_of(self.alpha)
        value, low, high = mean_bounds(top, z=z)
        base_top = _top_scores(ctx.baseline) if ctx.baseline is not None else None
        verdicts, parts, base = [], [f"bounds [{_bound(low)}, {_bound(high)}]"], math.nan
        if self.min is not None:
            verdicts.append(_judge_min(low, high, self.min))
            parts.append(f"min {self.min:g}")
        if self.max_drop is not None and base_top is not None:
            drop, drop_low, drop_high = mover(mean_bounds(base_top, z=z), (value, low, high))
            base = value + drop
            verdicts.append(_judge_max(drop, drop_high, self.max_drop, worse=drop_low > 0))
            parts.append(
                f"production {base:.3f}, drop {drop:+.3f} "
                f"(upper bound {_bound(drop_high)}) vs {self.max_drop:g}"
            )
        return _verdict(
            self,
            _combine(verdicts) if verdicts else PASS,
            subject="confidence",
            message=f"mean confidence {value:.3f} on {len(top)} rows, " + ", ".join(parts),
            reason=Reason.CONFIDENCE_BELOW_LIMIT,
            observed=value,
            expected={"min": self.min, "max_drop": self.max_drop},
            hint="The model is less sure of its answers: check the inputs for drift.",
            evidence={
                "mean_confidence": value,
                "bounds": [low, high],
                "baseline_mean_confidence": None if math.isnan(base) else base,
            },
        )


def _top_scores(outputs: ModelOutputs) -> np.ndarray | None:
    if outputs.y_score is None or len(outputs.y_score) == 0:
        return None
    return np.max(np.asarray(outputs.y_score, dtype=float), axis=1)


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
        edges = _quantile_edges(reference, bins)
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


def _quantile_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """The inner edges of `bins` reference quantile bins; ties merge edges, so fewer bins remain."""
    return np.unique(np.quantile(reference.astype(float), np.linspace(0, 1, bins + 1)[1:-1]))


def _distribution(outputs: ModelOutputs) -> np.ndarray:
    """What a prediction shift is measured on: the positive-class score of a binary classifier,
    else the predicted labels (classifiers) or values (regressors)."""
    if outputs.y_score is not None and np.asarray(outputs.y_score).shape[1] == 2:
        return np.asarray(outputs.y_score, dtype=float)[:, -1]
    return np.asarray(outputs.y_pred)


class PredictionShiftGate(Gate):
    """PSI of the candidate's predictions against production's, judged against sampling noise.

    Between two samples of one distribution of sizes n and m, PSI over k bins is about
    `(1/n + 1/m) chi2(k - 1)`: on 110 rows its 95th percentile is ~0.16, so a PSI of 0.2
    there may be noise. While that noise level (the `1 - alpha` quantile) reaches `max_psi`,
    or under `min_rows` rows, the gate waits; after that it fails when PSI is above `max_psi`
    (beyond noise and above the threshold) and passes otherwise.

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
        "alpha": _ALPHA,
    }
    needs = frozenset({"baseline"})

    def __init__(
        self, *, max_psi: float = 0.2, bins: int = 10, min_rows: int = 50, alpha: float = 0.01
    ) -> None:
        self.max_psi = max_psi
        self.bins = bins
        self.min_rows = min_rows
        self.alpha = alpha

    def evaluate(self, ctx: GateContext) -> CheckResult:
        if ctx.baseline is None:
            return _skipped(
                self, "predictions", "no production predictions to compare with", Reason.NO_BASELINE
            )
        reference, current = _distribution(ctx.baseline), _distribution(ctx.candidate)
        if len(current) < self.min_rows or not len(reference):
            message = f"{len(current)} predictions, fewer than min_rows {self.min_rows}"
            return _skipped(self, "predictions", message, Reason.NOT_ENOUGH_DATA)
        psi = population_stability_index(reference, current, bins=self.bins)
        noise = psi_noise(len(current), len(reference), _bins_used(reference, self.bins), alpha=self.alpha)
        verdict = WAIT if noise >= self.max_psi else FAIL if psi > self.max_psi else PASS
        return _verdict(
            self,
            verdict,
            subject="predictions",
            message=f"PSI of predictions against production = {psi:.3f} on {len(current)} rows "
            f"(noise level {noise:.3f} at this size) vs max {self.max_psi:g}",
            reason=Reason.PREDICTION_SHIFT,
            observed=psi,
            expected=f"<= {self.max_psi:g}",
            hint="The new version predicts a different distribution: compare them on recent data.",
            evidence={
                "psi": psi,
                "noise": noise,
                "bins": self.bins,
                "rows": len(current),
                "baseline_rows": len(reference),
            },
        )


def _bins_used(reference: np.ndarray, bins: int) -> int:
    """Bins PSI really has: ties can merge reference quantiles; labels have one per category."""
    if np.issubdtype(reference.dtype, np.number):
        return len(_quantile_edges(reference, bins)) + 1
    return len(np.unique(reference.astype(str)))


class ShadowAgreementGate(Gate):
    """Share of rows where the candidate gives production's answer on the same rows (the shadow
    route live, the test split offline): fail when its upper bound is below `min_agreement`,
    pass when its lower bound reaches it, otherwise wait.

    Examples
    --------
    >>> ShadowAgreementGate(min_agreement=0.95)
    ShadowAgreementGate(min_agreement=0.95)
    """

    type_name = "shadow_agreement"
    _parameter_constraints = {"min_agreement": [Interval(float, 0, 1)], "alpha": _ALPHA}
    needs = frozenset({"baseline"})

    def __init__(self, *, min_agreement: float = 0.9, alpha: float = 0.05) -> None:
        self.min_agreement = min_agreement
        self.alpha = alpha

    def _pairs(self, ctx: GateContext) -> tuple[int, int] | None:
        """(agreeing rows, paired rows), or None when nothing was paired."""
        if "shadow_pairs" in ctx.performance:
            pairs = int(ctx.performance["shadow_pairs"])
            agree = int(round(float(ctx.performance.get("shadow_agreement", 0.0)) * pairs))
            return (agree, pairs) if pairs else None
        if (
            ctx.baseline is None
            or len(ctx.baseline.y_pred) != len(ctx.candidate.y_pred)
            or not len(ctx.y_true)
        ):
            return None
        same = np.asarray(ctx.candidate.y_pred).astype(str) == np.asarray(ctx.baseline.y_pred).astype(str)
        return int(same.sum()), len(same)

    def evaluate(self, ctx: GateContext) -> CheckResult:
        pairs = self._pairs(ctx)
        if pairs is None:
            return _skipped(self, "agreement", "no rows scored by both the candidate and production")
        agree, n = pairs
        low, high = wilson_bounds(agree, n, z=z_of(self.alpha))
        verdict = _judge_min(low, high, self.min_agreement)
        return _verdict(
            self,
            verdict,
            subject="agreement",
            message=f"agreement with production = {agree / n:.2%} of {n} rows, bounds "
            f"[{low:.2%}, {high:.2%}] vs min {self.min_agreement:.2%}",
            reason=Reason.SHADOW_DISAGREEMENT,
            observed=agree / n,
            expected=f">= {self.min_agreement:g}",
            hint="The new version answers differently from production on the same rows.",
            evidence={"agreement": agree / n, "rows": n, "bounds": [low, high]},
        )
