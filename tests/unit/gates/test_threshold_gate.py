"""MetricThresholdGate: floors and ceilings, metrics computed on the fly, clear config errors."""

from __future__ import annotations

import math

import pytest

from shipyard.core.results import Reason, Status
from shipyard.errors import ConfigError
from shipyard.evaluation import compute_metrics
from shipyard.gates import GateContext, MetricThresholdGate


def _with_metrics(ctx: GateContext, **metrics: float) -> GateContext:
    return GateContext(task=ctx.task, y_true=ctx.y_true, candidate=ctx.candidate, metrics=metrics)


def test_passes_inside_the_bounds(make_context):
    ctx = _with_metrics(make_context(), roc_auc=0.91)
    result = MetricThresholdGate(metric="roc_auc", min=0.9, max=0.95).evaluate(ctx)
    assert result.status is Status.PASSED and result.reason is None
    assert result.message == "roc_auc = 0.91 is within [0.9, 0.95] -> PASS"
    assert result.observed == 0.91 and not result.evidence["computed_by_gate"]


def test_below_the_minimum_fails(make_context):
    result = MetricThresholdGate(metric="roc_auc", min=0.9).evaluate(
        _with_metrics(make_context(), roc_auc=0.871)
    )
    assert result.status is Status.FAILED and result.reason is Reason.METRIC_BELOW_MINIMUM
    assert result.message == "roc_auc = 0.871 is below the minimum 0.9 -> FAIL"
    assert result.expected == "[0.9, inf]" and result.blocking


def test_above_the_maximum_fails(make_context):
    result = MetricThresholdGate(metric="log_loss", max=0.3).evaluate(
        _with_metrics(make_context(), log_loss=0.45)
    )
    assert result.status is Status.FAILED and result.reason is Reason.METRIC_ABOVE_MAXIMUM
    assert "log_loss = 0.45 is above the maximum 0.3" in result.message


def test_a_metric_not_computed_yet_is_computed_by_the_gate(make_context, seed):
    ctx = make_context(seed=seed)
    expected = compute_metrics("classification", ctx.y_true, ctx.candidate, ["average_precision"])
    result = MetricThresholdGate(metric="average_precision", min=0.5).evaluate(ctx)
    assert result.observed == pytest.approx(expected["average_precision"])
    assert result.evidence["computed_by_gate"] and result.status is Status.PASSED


def test_an_undefined_metric_fails_as_inconclusive(make_context):
    result = MetricThresholdGate(metric="roc_auc", min=0.5).evaluate(
        _with_metrics(make_context(), roc_auc=math.nan)
    )
    assert result.status is Status.FAILED and result.reason is Reason.INCONCLUSIVE


def test_neither_bound_is_a_config_error(make_context):
    with pytest.raises(ConfigError, match="gate 'auc_floor' needs at least one of the options 'min', 'max'"):
        MetricThresholdGate.from_params({"metric": "roc_auc"}, label="auc_floor")
    with pytest.raises(ConfigError, match="needs at least one of the options"):
        MetricThresholdGate(metric="roc_auc").evaluate(make_context())


def test_a_minimum_above_the_maximum_is_a_config_error():
    with pytest.raises(
        ConfigError,
        match=r"'min' option of gate 'metric_threshold' \(0.9\) is above its 'max' \(0.8\)",
    ):
        MetricThresholdGate.from_params({"metric": "f1", "min": 0.9, "max": 0.8})


def test_a_bound_of_the_wrong_type_is_named():
    with pytest.raises(ConfigError) as info:
        MetricThresholdGate.from_params({"metric": "roc_auc", "min": "high"})
    assert str(info.value) == (
        "The 'min' option of gate 'metric_threshold' must be a float or None. Got 'high' instead."
    )
