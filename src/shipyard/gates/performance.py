"""Limits on what serving the model costs: latency, size, memory and throughput."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
    _parameter_constraints = {name: [Interval(float, 0, None, "neither"), NONE] for name in _LIMITS}

    def __init__(
        self,
        *,
        max_latency_p50_ms: float | None = None,
        max_latency_p95_ms: float | None = None,
        max_latency_p99_ms: float | None = None,
        max_size_mb: float | None = None,
        max_memory_mb: float | None = None,
        min_throughput_rows_per_s: float | None = None,
    ) -> None:
        self.max_latency_p50_ms = max_latency_p50_ms
        self.max_latency_p95_ms = max_latency_p95_ms
        self.max_latency_p99_ms = max_latency_p99_ms
        self.max_size_mb = max_size_mb
        self.max_memory_mb = max_memory_mb
        self.min_throughput_rows_per_s = min_throughput_rows_per_s

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, label: str | None = None) -> Gate:
        gate = super().from_params(params, label=label)
        require_any(f"gate '{label or cls.type_name}'", params, list(_LIMITS))
        return gate

    def evaluate(self, ctx: GateContext) -> CheckResult:
        limits = {k: v for k, v in self.get_params().items() if v is not None}
        require_any(f"gate '{self.type_name}'", limits, list(_LIMITS))
        violations: list[tuple[Reason, str]] = []
        checked: dict[str, dict[str, Any]] = {}
        for option, limit in limits.items():
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
        evidence = {"figures": checked, "violations": [m for _, m in violations]}
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
