"""Statistically honest comparison with the production model: the `no_regression` gate.

Every (metric, slice) comparison is a one-sided paired test on the test split,
oriented so that positive means "candidate better". In `non_inferiority` mode the
null hypothesis is "the candidate is worse by `tolerance` or more"; in `superiority`
mode it is "the candidate is not better by more than `margin`". A comparison passes
when its (Holm-adjusted) p-value is at most `alpha`. One that does not pass, and
whose test could not have passed an acceptable candidate with probability
`min_power`, is reported as underpowered, with the test-set size it would need.
"""

from __future__ import annotations

import math
from typing import Any, Self

import numpy as np

from shipyard.core.params import NONE, STRING, Interval, OfType, Options
from shipyard.core.results import CheckResult, Reason, Severity, Status
from shipyard.errors import ConfigError
from shipyard.evaluation.comparisons import METHODS, ComparisonResult, compare, resolve_method
from shipyard.evaluation.metrics import METRICS, check_metric_names
from shipyard.evaluation.multiple import CORRECTIONS, adjust
from shipyard.evaluation.outputs import ModelOutputs
from shipyard.evaluation.power import power, rows_required
from shipyard.gates.base import Gate, GateContext

OVERALL = "overall"
_TESTS = {
    "delong": "DeLong",
    "mcnemar_exact": "McNemar exact",
    "mcnemar_score": "McNemar (Tango score)",
    "bootstrap": "paired bootstrap",
}
_HINTS = {
    Reason.REGRESSION: "The candidate is worse than production on this metric. Compare the two runs, "
    "or raise 'tolerance' if a small loss is acceptable.",
    Reason.NOT_SUPERIOR: "The candidate is not shown better than production by more than 'margin'.",
    Reason.UNDERPOWERED: "The test split is too small to tell the models apart at this tolerance: "
    "enlarge it (see evidence.n_required), or raise 'tolerance'.",
    Reason.INCONCLUSIVE: "Check that both models output probabilities and that the test split "
    "holds every class; a larger test split helps.",
}


def _take(out: ModelOutputs, mask: np.ndarray) -> ModelOutputs:
    score = None if out.y_score is None else np.asarray(out.y_score)[mask]
    return ModelOutputs(np.asarray(out.y_pred)[mask], score, out.classes)


class NoRegressionGate(Gate):
    """Pass unless the candidate is worse than production by more than `tolerance` (or, in
    `superiority` mode, unless it is better by more than `margin`), in units of each metric.

    Examples
    --------
    >>> NoRegressionGate(metric="roc_auc", tolerance=0.005)
    NoRegressionGate(metric='roc_auc', tolerance=0.005)
    """

    type_name = "no_regression"
    _parameter_constraints = {
        "metric": [STRING, NONE],
        "metrics": [OfType(list, "a list of metric names"), NONE],
        "tolerance": [Interval(float, 0, 1)],
        "confidence": [Interval(float, 0.5, 1, "neither")],
        "n_resamples": [Interval(int, 100, None, "left")],
        "mode": [Options(frozenset({"non_inferiority", "superiority"}))],
        "margin": [Interval(float, 0, 1)],
        "method": [Options(frozenset(METHODS))],
        "slices": [OfType(bool, "true, false"), OfType(list, "a list of column names")],
        "alpha": [Interval(float, 0, 0.5, "neither"), NONE],
        "correction": [Options(frozenset(CORRECTIONS))],
        "min_power": [Interval(float, 0, 1, "right")],
        "on_underpowered": [Options(frozenset({"fail", "warn"}))],
    }

    def __init__(
        self,
        *,
        metric: str | None = None,
        metrics: list[str] | None = None,
        tolerance: float = 0.01,
        confidence: float = 0.95,
        n_resamples: int = 1000,
        mode: str = "non_inferiority",
        margin: float = 0.0,
        method: str = "auto",
        slices: bool | list[str] = False,
        alpha: float | None = None,
        correction: str = "holm",
        min_power: float = 0.8,
        on_underpowered: str = "fail",
    ) -> None:
        self.metric = metric
        self.metrics = metrics
        self.tolerance = tolerance
        self.confidence = confidence
        self.n_resamples = n_resamples
        self.mode = mode
        self.margin = margin
        self.method = method
        self.slices = slices
        self.alpha = alpha
        self.correction = correction
        self.min_power = min_power
        self.on_underpowered = on_underpowered

    @classmethod
    def from_params(cls, params: Any, *, label: str | None = None) -> Self:
        gate = super().from_params(params, label=label)
        owner = f"gate '{label or cls.type_name}'"
        for key in ("metrics", "slices"):
            value = params.get(key)
            if isinstance(value, list) and (not value or not all(isinstance(v, str) for v in value)):
                raise ConfigError(
                    f"The '{key}' option of {owner} must be a non-empty list of names. Got {value!r} instead."
                )
        if (params.get("metric") is None) == (params.get("metrics") is None):
            raise ConfigError(
                f"{owner} needs the option 'metric' (one name) or 'metrics' (a list), not both. "
                "Add one under the gate."
            )
        for name in gate.metric_names():
            if name in METRICS:
                try:
                    resolve_method(params.get("method", "auto"), name)
                except ConfigError as exc:
                    raise ConfigError(f"{owner}: {exc}") from None
        return gate

    def metric_names(self) -> list[str]:
        """The metrics this gate compares."""
        return [self.metric] if self.metric is not None else list(self.metrics or [])

    def check_task(self, task: str, where: str) -> None:
        """Raise `ConfigError` when a compared metric is not one of `task`'s (called at build time)."""
        check_metric_names(task, self.metric_names(), where=f"{where}.metrics")

    def required_context(self) -> frozenset[str]:
        """Optional `GateContext` fields it reads: the test rows when comparing per slice."""
        return frozenset({"rows"}) if self.slices else frozenset()

    def _result(self, status: Status, message: str, **fields: Any) -> CheckResult:
        subject = ", ".join(self.metric_names())
        return CheckResult(check=self.type_name, status=status, message=message, subject=subject, **fields)

    def _groups(self, ctx: GateContext) -> list[tuple[str, np.ndarray]]:
        """(slice name, row mask) for the whole split and each configured slice."""
        groups = [(OVERALL, np.ones(len(ctx.y_true), dtype=bool))]
        if not self.slices:
            return groups
        from shipyard.evaluation.slices import slice_labels

        columns = list(ctx.slices) if self.slices is True else list(self.slices)
        if not columns:
            raise ConfigError(
                f"gate '{self.type_name}': 'slices: true' compares the slices listed under the top-level "
                "'slices:' of shipyard.yaml, and there are none. List columns there or in the gate."
            )
        if ctx.rows is None or len(ctx.rows) != len(ctx.y_true):
            raise ConfigError(
                f"gate '{self.type_name}' compares slices but got no test rows aligned with y_true."
            )
        for column in columns:
            if column not in ctx.rows.columns:
                raise ConfigError(
                    f"gate '{self.type_name}': slices: column {column!r} is not in the test data. "
                    f"Available columns: {', '.join(map(str, ctx.rows.columns))}."
                )
            labels, names = slice_labels(ctx.rows[column].reset_index(drop=True))
            groups += [(f"{column}={name}", (labels == name).to_numpy()) for name in names]
        return groups

    def evaluate(self, ctx: GateContext) -> CheckResult:
        names = self.metric_names()
        if ctx.baseline is None:
            return self._result(
                Status.SKIPPED,
                f"there is no production model yet, so {', '.join(names)} has nothing to regress "
                "from; the first model is judged by the other gates",
                reason=Reason.NO_BASELINE,
            )
        check_metric_names(ctx.task, names, where=f"gate '{self.type_name}'")
        alpha = 1 - self.confidence if self.alpha is None else self.alpha
        superiority = self.mode == "superiority"
        null = self.margin if superiority else -self.tolerance
        y = np.asarray(ctx.y_true)
        groups = self._groups(ctx)
        found = []
        for metric in names:
            for name, mask in groups:
                result = compare(
                    metric, y[mask], _take(ctx.candidate, mask), _take(ctx.baseline, mask),
                    method=self.method, null=null, confidence=round(1 - 2 * alpha, 12),
                    n_resamples=self.n_resamples, seed=ctx.seed,
                )  # fmt: skip
                found.append((name, result))
        adjusted = adjust([r.p_value for _, r in found], self.correction)
        defined = int(np.sum(~np.isnan(adjusted)))
        level = alpha / max(defined, 1) if self.correction == "holm" else alpha
        rows = [
            self._row(name, r, p, alpha, level, len(y)) for (name, r), p in zip(found, adjusted, strict=True)
        ]
        return self._verdict(rows, alpha, ctx.baseline_version)

    def _row(
        self, name: str, r: ComparisonResult, p_adjusted: float, alpha: float, level: float, total: int
    ) -> dict[str, Any]:
        """One comparison as a report row; `difference` and the interval are candidate - production."""
        sign = 1.0 if METRICS[r.metric].greater_is_better else -1.0
        power_, needed = math.nan, math.nan
        if math.isfinite(r.std_error):
            power_ = power(r.std_error, self.tolerance, level)
            needed = rows_required(r.n_rows, r.std_error, self.tolerance, level, self.min_power)
        if math.isnan(p_adjusted):
            verdict = "undefined"
        elif p_adjusted <= alpha:
            verdict = "pass"
        elif r.ci_high >= r.null and power_ < self.min_power:
            verdict = "underpowered"
        else:
            verdict = "not_superior" if self.mode == "superiority" else "regression"
        low, high = sorted((sign * r.ci_low, sign * r.ci_high))
        return {
            "metric": r.metric,
            "slice": name,
            "rows": r.n_rows,
            "candidate": r.candidate_value,
            "baseline": r.baseline_value,
            "difference": sign * r.difference,
            "oriented_difference": r.difference,
            "std_error": r.std_error,
            "ci_low": low,
            "ci_high": high,
            "lower_bound": r.ci_low,
            "upper_bound": r.ci_high,
            "confidence": r.confidence,
            "null": r.null,
            "test": r.test,
            "p_value": r.p_value,
            "p_adjusted": p_adjusted,
            "power": power_,
            "n_required": math.ceil(needed * total / r.n_rows) if math.isfinite(needed) else needed,
            "verdict": verdict,
            "note": r.note,
        }

    def _verdict(self, rows: list[dict[str, Any]], alpha: float, version: str | None) -> CheckResult:
        reason, chosen = self._decide(rows)
        worst = max(chosen, key=lambda r: (r["p_adjusted"], r["p_value"]))
        status = Status.PASSED if reason is None else Status.FAILED
        severity = (
            Severity.WARN
            if reason is Reason.UNDERPOWERED and self.on_underpowered == "warn"
            else Severity.FAIL
        )
        message = self._message(worst, rows, alpha, reason, severity)
        evidence = {
            "metric": worst["metric"],
            "slice": worst["slice"],
            "baseline_version": version,
            "candidate_value": worst["candidate"],
            "baseline_value": worst["baseline"],
            "observed_difference": worst["difference"],
            "oriented_difference": worst["oriented_difference"],
            "lower_bound": worst["lower_bound"],
            "interval_low": worst["ci_low"],
            "interval_high": worst["ci_high"],
            "interval_confidence": worst["confidence"],
            "test": worst["test"],
            "p_value": worst["p_value"],
            "p_adjusted": worst["p_adjusted"],
            "power": worst["power"],
            "n_required": worst["n_required"],
            "std_error": worst["std_error"],
            **{k: v for k, v in self.get_params().items() if k not in ("metric", "metrics", "slices")},
            "alpha": alpha,
            "n_comparisons": len(rows),
            "comparisons": rows,
        }
        return self._result(
            status,
            message,
            severity=severity,
            reason=reason,
            observed=worst["candidate"],
            expected=self._expected(worst, alpha),
            hint=_HINTS.get(reason, "") if reason else "",
            evidence=evidence,
        )

    def _decide(self, rows: list[dict[str, Any]]) -> tuple[Reason | None, list[dict[str, Any]]]:
        """The gate's reason and the rows that carry it: a failing comparison first, then an
        undefined overall metric, then an underpowered comparison; None when all passed."""
        failing = "not_superior" if self.mode == "superiority" else "regression"
        candidates = [
            (Reason(failing), [r for r in rows if r["verdict"] == failing]),
            (Reason.INCONCLUSIVE, [r for r in rows if r["verdict"] == "undefined" and r["slice"] == OVERALL]),
            (Reason.UNDERPOWERED, [r for r in rows if r["verdict"] == "underpowered"]),
        ]
        for reason, chosen in candidates:
            if chosen:
                return reason, chosen
        return None, [r for r in rows if r["verdict"] == "pass"]

    def _expected(self, row: dict[str, Any], alpha: float) -> str:
        production = f"production {row['baseline']:.4g}"
        if self.mode == "superiority":
            return f"better than {production} by more than {self.margin:g} at alpha {alpha:g}"
        return f"no worse than {production} by more than {self.tolerance:g} at alpha {alpha:g}"

    def _message(
        self,
        row: dict[str, Any],
        rows: list[dict[str, Any]],
        alpha: float,
        reason: Reason | None,
        severity: Severity,
    ) -> str:
        better = METRICS[row["metric"]].greater_is_better
        where = "" if row["slice"] == OVERALL else f" [{row['slice']}]"
        shown = row["oriented_difference"]
        change = "difference" if better else "improvement"
        direction = "" if better else " (lower is better)"
        low, high = row["lower_bound"], row["upper_bound"]
        level = f"{row['confidence'] * 100:g}%"
        p = f"p = {row['p_value']:.3g}"
        if len(rows) > 1 and self.correction == "holm":
            p += f" (Holm-adjusted {row['p_adjusted']:.3g} over {len(rows)} comparisons)"
        if self.mode == "superiority":
            claim = f"superior by more than {self.margin:g} (margin)"
        else:
            claim = f"non-inferior within {self.tolerance:g} (tolerance)"
        if reason is None:
            verdict = f"{claim} -> PASS"
        elif reason is Reason.UNDERPOWERED:
            needed = row["n_required"]
            size = f"about {needed:,} test rows" if math.isfinite(needed) else "a tolerance above 0"
            verdict = (
                f"not shown {claim}, and the test split is too small to show it: power {row['power']:.2f} "
                f"< {self.min_power:g}, needs {size} -> UNDERPOWERED, {severity.value.upper()}"
            )
        elif reason is Reason.INCONCLUSIVE:
            return (
                f"{row['metric']}{where} could not be compared with production: it is undefined on the "
                f"test split ({row['note'] or 'one class only'}) -> FAIL"
            )
        else:
            verdict = f"not shown {claim} -> FAIL"
        lead = ""
        if len(rows) > 1:
            bad = sum(r["verdict"] not in ("pass", "undefined") for r in rows)
            undefined = sum(r["verdict"] == "undefined" for r in rows)
            skipped = f" ({undefined} undefined)" if undefined else ""
            lead = (
                f"{bad} of {len(rows)} comparisons failed{skipped}; worst: "
                if bad
                else f"all {len(rows) - undefined} comparisons passed{skipped}; closest: "
            )
        return (
            f"{lead}{row['metric']}{where} = {row['candidate']:.4g}, production = {row['baseline']:.4g}, "
            f"{change} {shown:+.4g}{direction}, {level} CI [{low:+.4g}, {high:+.4g}], "
            f"{_TESTS[row['test']]} {p} vs alpha {alpha:g}: {verdict}"
        )
