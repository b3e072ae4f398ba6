"""Gate verdicts move the right way: looser thresholds and better models never turn PASS into FAIL."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shipyard.core.results import Reason, Status
from shipyard.evaluation.outputs import ModelOutputs
from shipyard.gates import GateContext, MetricThresholdGate, NoRegressionGate, OutputContractGate

finite = st.floats(-1e6, 1e6, allow_nan=False)
bounds = st.one_of(st.none(), finite)
seeds = st.integers(0, 2**32 - 1)
separations = st.floats(0.0, 3.0)
# one metric read from labels, one from scores, one where lower is better
REGRESSION_METRICS = st.sampled_from(["accuracy", "roc_auc", "log_loss"])


def _metric_context(metric: str, value: float) -> GateContext:
    y = np.array([0, 1])
    outputs = ModelOutputs(y, np.array([[1.0, 0.0], [0.0, 1.0]]), (0, 1))
    return GateContext(task="classification", y_true=y, candidate=outputs, metrics={metric: value})


def _binary(y: np.ndarray, p: np.ndarray) -> ModelOutputs:
    return ModelOutputs((p > 0.5).astype(int), np.column_stack([1 - p, p]), (0, 1))


def _scores(y: np.ndarray, separation: float, rng: np.random.Generator) -> np.ndarray:
    """P(positive) of a model whose logit is `y * separation` plus standard normal noise."""
    z = y * separation + rng.normal(size=len(y))
    return 1 / (1 + np.exp(-(z - separation / 2)))


def _regression_context(seed: int, candidate: float, baseline: float, n: int = 300) -> GateContext:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return GateContext(
        task="classification",
        y_true=y,
        candidate=_binary(y, _scores(y, candidate, rng)),
        baseline=_binary(y, _scores(y, baseline, rng)),
        baseline_version="1",
        metrics={},
        seed=seed,
    )


def _passes(gate: NoRegressionGate | MetricThresholdGate, ctx: GateContext) -> bool:
    status = gate.evaluate(ctx).status
    assert status in (Status.PASSED, Status.FAILED)
    return status is Status.PASSED


@settings(max_examples=200, deadline=None)
@given(value=finite, low=bounds, high=bounds)
def test_threshold_passes_iff_value_within_bounds(value, low, high):
    assume(low is not None or high is not None)
    assume(low is None or high is None or low <= high)
    gate = MetricThresholdGate(metric="roc_auc", min=low, max=high)
    result = gate.evaluate(_metric_context("roc_auc", value))
    within = (low is None or low <= value) and (high is None or value <= high)
    assert (result.status is Status.PASSED) is within, result.message
    if not within:
        below = low is not None and value < low
        assert result.reason is (Reason.METRIC_BELOW_MINIMUM if below else Reason.METRIC_ABOVE_MAXIMUM)


@settings(max_examples=200, deadline=None)
@given(value=finite, low=finite, looser=st.floats(0, 1e6))
def test_threshold_is_monotone_in_the_minimum(value, low, looser):
    ctx = _metric_context("accuracy", value)
    strict = _passes(MetricThresholdGate(metric="accuracy", min=low), ctx)
    loose = _passes(MetricThresholdGate(metric="accuracy", min=low - looser), ctx)
    assert loose or not strict


def test_threshold_fails_inconclusive_on_a_nan_metric():
    result = MetricThresholdGate(metric="roc_auc", min=0.5).evaluate(_metric_context("roc_auc", math.nan))
    assert result.status is Status.FAILED and result.reason is Reason.INCONCLUSIVE


@settings(max_examples=25, deadline=None)
@given(
    metric=REGRESSION_METRICS,
    seed=seeds,
    candidate=separations,
    baseline=separations,
    tolerance=st.floats(0, 0.2),
    extra=st.floats(0, 0.3),
)
def test_no_regression_is_monotone_in_tolerance(metric, seed, candidate, baseline, tolerance, extra):
    ctx = _regression_context(seed, candidate, baseline)
    looser = tolerance + extra
    strict = _passes(NoRegressionGate(metric=metric, tolerance=tolerance, n_resamples=200), ctx)
    loose = _passes(NoRegressionGate(metric=metric, tolerance=looser, n_resamples=200), ctx)
    assert loose or not strict


@settings(max_examples=25, deadline=None)
@given(
    metric=REGRESSION_METRICS,
    seed=seeds,
    candidate=separations,
    baseline=separations,
    tolerance=st.floats(0, 0.05),
    gain=st.floats(0.01, 0.99),
)
def test_no_regression_is_monotone_in_the_candidate(metric, seed, candidate, baseline, tolerance, gain):
    ctx = _regression_context(seed, candidate, baseline)
    p = ctx.candidate.y_score[:, -1]
    positive = ctx.y_true == 1
    better = np.where(positive, p + gain * (1 - p), p)
    improved = replace(ctx, candidate=_binary(ctx.y_true, better))
    gate = NoRegressionGate(metric=metric, tolerance=tolerance, n_resamples=200)
    before, after = gate.evaluate(ctx), gate.evaluate(improved)
    oriented = "oriented_difference"
    assert after.evidence[oriented] >= before.evidence[oriented] - 1e-12
    assert after.evidence["lower_bound"] >= before.evidence["lower_bound"] - 1e-12
    assert after.status is Status.PASSED or before.status is not Status.PASSED


def _valid_outputs(task: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, ModelOutputs]:
    if task == "regression":
        y = rng.normal(size=n)
        return y, ModelOutputs(y + rng.normal(scale=0.1, size=n))
    y = np.resize([0, 1], n)
    p = rng.uniform(size=n)
    return y, ModelOutputs(np.resize([0.0, 1.0], n), np.column_stack([1 - p, p]), (0, 1))


@settings(max_examples=100, deadline=None)
@given(
    task=st.sampled_from(["classification", "regression"]),
    n=st.integers(2, 50),
    seed=seeds,
    where=st.sampled_from(["y_pred", "y_score"]),
    data=st.data(),
)
def test_output_contract_fails_on_any_injected_nan(task, n, seed, where, data):
    y, outputs = _valid_outputs(task, n, np.random.default_rng(seed))
    gate = OutputContractGate()
    clean = GateContext(task=task, y_true=y, candidate=outputs, metrics={})
    assert gate.evaluate(clean).status is Status.PASSED
    if task == "regression":
        where = "y_pred"
    rows = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    array = np.array(getattr(outputs, where), dtype=float)
    array[rows] = math.nan
    broken = replace(outputs, **{where: array})
    result = gate.evaluate(GateContext(task=task, y_true=y, candidate=broken, metrics={}))
    assert result.status is Status.FAILED
    assert result.reason is Reason.NAN_PREDICTIONS, result.message
