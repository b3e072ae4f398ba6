"""PerformanceGate: every limit given is checked against the measured figures."""

from __future__ import annotations

import pytest

from shipyard.core.results import Reason, Status
from shipyard.errors import ConfigError
from shipyard.gates import GateContext, PerformanceGate

FIGURES = {
    "latency_p50_ms": 1.2,
    "latency_p95_ms": 3.0,
    "latency_p99_ms": 12.5,
    "throughput_rows_per_s": 40_000.0,
    "size_mb": 2.5,
    "peak_memory_mb": 30.0,
}


def _ctx(make_context, **figures: float) -> GateContext:
    base = make_context()
    return GateContext(
        task=base.task,
        y_true=base.y_true,
        candidate=base.candidate,
        metrics={},
        performance={**FIGURES, **figures},
    )


def test_within_every_limit_passes(make_context):
    gate = PerformanceGate(max_latency_p99_ms=20.0, max_size_mb=10.0, min_throughput_rows_per_s=1000.0)
    result = gate.evaluate(_ctx(make_context))
    assert result.status is Status.PASSED
    assert result.observed == {
        "latency_p99_ms": 12.5,
        "size_mb": 2.5,
        "throughput_rows_per_s": 40_000.0,
    }


@pytest.mark.parametrize(
    ("option", "limit", "reason", "text"),
    [
        ("max_latency_p50_ms", 1.0, Reason.LATENCY_ABOVE_LIMIT, "latency_p50_ms = 1.2 ms > 1 ms"),
        ("max_latency_p95_ms", 2.0, Reason.LATENCY_ABOVE_LIMIT, "latency_p95_ms = 3 ms > 2 ms"),
        (
            "max_latency_p99_ms",
            10.0,
            Reason.LATENCY_ABOVE_LIMIT,
            "latency_p99_ms = 12.5 ms > 10 ms",
        ),
        ("max_size_mb", 1.0, Reason.SIZE_ABOVE_LIMIT, "size_mb = 2.5 MiB > 1 MiB"),
        ("max_memory_mb", 16.0, Reason.MEMORY_ABOVE_LIMIT, "peak_memory_mb = 30 MiB > 16 MiB"),
        (
            "min_throughput_rows_per_s",
            50_000.0,
            Reason.THROUGHPUT_BELOW_LIMIT,
            "throughput_rows_per_s = 40,000 rows/s < 50,000 rows/s",
        ),
    ],
)
def test_each_broken_limit_fails_with_its_reason(make_context, option, limit, reason, text):
    result = PerformanceGate(**{option: limit}).evaluate(_ctx(make_context))
    assert result.status is Status.FAILED and result.reason is reason
    assert text in result.message


def test_all_broken_limits_are_listed(make_context):
    gate = PerformanceGate(max_latency_p99_ms=5.0, max_memory_mb=10.0)
    result = gate.evaluate(_ctx(make_context))
    assert result.evidence["violations"] == [
        "latency_p99_ms = 12.5 ms > 5 ms",
        "peak_memory_mb = 30 MiB > 10 MiB",
    ]


def test_a_figure_that_was_not_measured_fails_as_inconclusive(make_context):
    base = make_context()
    result = PerformanceGate(max_size_mb=5.0).evaluate(base)
    assert result.status is Status.FAILED and result.reason is Reason.INCONCLUSIVE
    assert "size_mb was not measured" in result.message


def test_no_limit_at_all_is_a_config_error():
    with pytest.raises(ConfigError, match="gate 'performance' needs at least one of the options"):
        PerformanceGate.from_params({})


def test_limits_must_be_positive():
    with pytest.raises(ConfigError) as info:
        PerformanceGate.from_params({"max_latency_p99_ms": -1})
    assert str(info.value) == (
        "The 'max_latency_p99_ms' option of gate 'performance' must be a float in (0, inf) or None."
        " Got -1 instead."
    )
