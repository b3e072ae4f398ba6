"""Limits on what serving the model costs: latency, size, memory and throughput.

Absolute limits read the evaluate stage's figures. Ratio limits (`max_latency_ratio`,
`max_size_ratio`, `max_memory_ratio`) time the candidate and the `production` model in
this process on the same test rows, interleaved, so machine load cancels out; with no
production model yet they are skipped (the absolute limits still apply).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from shipyard.core.params import NONE, Interval
from shipyard.core.results import CheckResult, Reason, Status
from shipyard.gates.base import Gate, GateContext
from shipyard.gates.thresholds import require_any

# option -> (figure in ctx.performance, unit, True for an upper limit, reason when broken)
_LIMITS: dict[str, tuple[str, str, bool, Reason]] = {
    "max_latency_p50_ms": ("latency_p50_ms", "ms", True, Reason.LATENCY_ABOVE_LIMIT),
    "max_latency_p95_ms": ("latency_p95_ms", "ms", True, Reason.LATENCY_ABOVE_LIMIT),
    "max_latency_p99_ms": ("latency_p99_ms", "ms", True, Reason.LATENCY_ABOVE_LIMIT),
    "max_size_mb": ("size_mb", "MiB", True, Reason.SIZE_ABOVE_LIMIT),
    "max_memory_mb": ("peak_memory_mb", "MiB", True, Reason.MEMORY_ABOVE_LIMIT),
    "min_throughput_rows_per_s": (
        "throughput_rows_per_s",
        "rows/s",
        False,
        Reason.THROUGHPUT_BELOW_LIMIT,
    ),
}


# option -> (field of CostComparison, what is compared, reason when broken)
_RATIOS: dict[str, tuple[str, str, Reason]] = {
    "max_latency_ratio": ("latency_ratio", "latency", Reason.LATENCY_RATIO_ABOVE_LIMIT),
    "max_size_ratio": ("size_ratio", "size", Reason.SIZE_ABOVE_LIMIT),
    "max_memory_ratio": ("memory_ratio", "peak memory", Reason.MEMORY_ABOVE_LIMIT),
}


def _number(value: float) -> str:
    """4 significant digits, or whole thousands-separated numbers from 10,000 up."""
    return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.4g}"


class PerformanceGate(Gate):
    """Pass when every given limit holds for the figures of `measure_performance`.

    Examples
    --------
    >>> PerformanceGate(max_latency_p99_ms=20.0)
    PerformanceGate(max_latency_p99_ms=20.0)
    """

    type_name = "performance"
    timed = True
    _parameter_constraints = {
        name: [Interval(float, 0, None, "neither"), NONE] for name in (*_LIMITS, *_RATIOS)
    } | {"samples": [Interval(int, 10, None)]}

    def __init__(
        self,
        *,
        max_latency_p50_ms: float | None = None,
        max_latency_p95_ms: float | None = None,
        max_latency_p99_ms: float | None = None,
        max_size_mb: float | None = None,
        max_memory_mb: float | None = None,
        min_throughput_rows_per_s: float | None = None,
        max_latency_ratio: float | None = None,
        max_size_ratio: float | None = None,
        max_memory_ratio: float | None = None,
        samples: int = 200,
    ) -> None:
        self.max_latency_p50_ms = max_latency_p50_ms
        self.max_latency_p95_ms = max_latency_p95_ms
        self.max_latency_p99_ms = max_latency_p99_ms
        self.max_size_mb = max_size_mb
        self.max_memory_mb = max_memory_mb
        self.min_throughput_rows_per_s = min_throughput_rows_per_s
        self.max_latency_ratio = max_latency_ratio
        self.max_size_ratio = max_size_ratio
        self.max_memory_ratio = max_memory_ratio
        self.samples = samples

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, label: str | None = None) -> Self:
        gate = super().from_params(params, label=label)
        require_any(f"gate '{label or cls.type_name}'", params, [*_LIMITS, *_RATIOS])
        return gate

    def required_context(self) -> frozenset[str]:
        """The models and rows, only when a ratio against production is asked for."""
        if any(getattr(self, option) is not None for option in _RATIOS):
            return frozenset({"rows", "model", "baseline_model", "model_dir", "baseline_model_dir"})
        return frozenset()

    def evaluate(self, ctx: GateContext) -> CheckResult:
        limits = {k: v for k, v in self.get_params().items() if v is not None and k != "samples"}
        require_any(f"gate '{self.type_name}'", limits, [*_LIMITS, *_RATIOS])
        ratio_limits = {k: v for k, v in limits.items() if k in _RATIOS}
        if ratio_limits and ctx.baseline_model is None and ctx.baseline_version is None:
            if len(ratio_limits) == len(limits):
                return self._skipped_without_production(ratio_limits)
            limits = {k: v for k, v in limits.items() if k not in _RATIOS}
            ratio_limits = {}
        violations: list[tuple[Reason, str]] = []
        checked: dict[str, dict[str, Any]] = {}
        side_by_side: dict[str, Any] = {}
        if ratio_limits:
            violations += self._check_ratios(ctx, ratio_limits, checked, side_by_side)
        for option, limit in limits.items():
            if option in _RATIOS:
                continue
            figure, unit, upper, reason = _LIMITS[option]
            if figure not in ctx.performance:
                violations.append((Reason.INCONCLUSIVE, f"{figure} was not measured"))
                continue
            value = float(ctx.performance[figure])
            broken = value > limit if upper else value < limit
            checked[figure] = {"value": value, "limit": limit, "passed": not broken}
            if broken:
                sign = ">" if upper else "<"
                text = f"{figure} = {_number(value)} {unit} {sign} {_number(limit)} {unit}"
                violations.append((reason, text))
        evidence: dict[str, Any] = {"figures": checked, "violations": [m for _, m in violations]}
        if side_by_side:
            evidence["side_by_side"] = side_by_side
        summary = ", ".join(f"{k} = {_number(v['value'])}" for k, v in checked.items())
        if violations:
            return CheckResult(
                check=self.type_name,
                status=Status.FAILED,
                message="performance limits broken: " + "; ".join(m for _, m in violations) + " -> FAIL",
                subject="performance",
                reason=violations[0][0],
                observed={k: v["value"] for k, v in checked.items()},
                expected=limits,
                hint="Make the model smaller or faster (fewer trees, fewer features), "
                "or raise the limit in shipyard.yaml if serving can afford it.",
                evidence=evidence,
            )
        return CheckResult(
            check=self.type_name,
            status=Status.PASSED,
            message=f"performance within limits: {summary} -> PASS",
            subject="performance",
            observed={k: v["value"] for k, v in checked.items()},
            expected=limits,
            evidence=evidence,
        )

    def _skipped_without_production(self, limits: dict[str, float]) -> CheckResult:
        return CheckResult(
            check=self.type_name,
            status=Status.SKIPPED,
            message="no production model yet: the cost ratios against production are not measured -> SKIP",
            subject="performance",
            reason=Reason.NO_BASELINE,
            expected=limits,
        )

    def _check_ratios(
        self,
        ctx: GateContext,
        limits: dict[str, float],
        checked: dict[str, dict[str, Any]],
        side_by_side: dict[str, Any],
    ) -> list[tuple[Reason, str]]:
        """Measure candidate against production side by side and compare each ratio with its limit.

        Production exists but something needed is missing: that is a failure, never a skip.
        """
        model, baseline, rows = ctx.model, ctx.baseline_model, ctx.rows
        if model is None or baseline is None or rows is None:
            given = (("model", model), ("baseline_model", baseline), ("rows", rows))
            missing = ", ".join(name for name, value in given if value is None)
            return [(Reason.INCONCLUSIVE, f"cost ratios need {missing}, which the run did not provide")]
        from shipyard.evaluation.performance import compare_cost

        inputs = rows.drop(columns=[ctx.target]) if ctx.target in rows.columns else rows
        comparison = compare_cost(
            model.predict_frame,
            baseline.predict_frame,
            inputs,
            candidate_path=ctx.model_dir,
            baseline_path=ctx.baseline_model_dir,
            samples=self.samples,
            seed=ctx.seed,
        )
        violations: list[tuple[Reason, str]] = []
        production = f"production (v{ctx.baseline_version})" if ctx.baseline_version else "production"
        for option, limit in limits.items():
            name, what, reason = _RATIOS[option]
            if name == "latency_ratio":
                # decided on the interval's lower end: noise alone never rejects a model
                value, surely = comparison.latency.value, comparison.latency.low
                detail = f" (at least {surely:.2f}x at 95% confidence)"
            else:
                value = surely = getattr(comparison, name)
                detail = ""
            if value is None:
                violations.append((Reason.INCONCLUSIVE, f"{what} ratio: a model folder is missing"))
                continue
            broken = surely > limit
            checked[name] = {"value": value, "limit": limit, "passed": not broken}
            if broken:
                text = f"{what} {value:.2f}x {production}{detail} > {limit:g}x (candidate / production)"
                violations.append((reason, text))
        side_by_side.update(comparison.to_dict())
        return violations
