"""The calibration and class-collapse gates on models whose behaviour is known in advance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shipyard.config import GateConfig
from shipyard.core.results import Reason, Status
from shipyard.errors import ConfigError
from shipyard.evaluation import ModelOutputs
from shipyard.gates import GateContext, build_gates
from shipyard.gates.calibration import CalibrationGate, ClassCollapseGate


def _binary(seed: int, distort: float = 1.0, n: int = 3000) -> GateContext:
    """Labels drawn from p; the model reports p stretched around 0.5 by `distort` (1: calibrated)."""
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    y = (rng.random(n) < p).astype(int)
    q = np.clip(0.5 + distort * (p - 0.5), 0, 1)
    outputs = ModelOutputs((q >= 0.5).astype(int), np.column_stack([1 - q, q]), (0, 1))
    return GateContext(task="classification", y_true=y, candidate=outputs, metrics={})


def test_a_calibrated_model_passes(seed):
    result = CalibrationGate(max_ece=0.05, max_brier=0.2).evaluate(_binary(seed))
    assert result.status is Status.PASSED, result.message
    assert result.message.startswith("calibration: ECE = ")
    bins = result.evidence["bins"]
    assert len(bins) == 10 and sum(b["count"] for b in bins) == 3000
    assert set(bins[0]) == {"lower", "upper", "predicted", "observed", "count"}


def test_an_overconfident_model_fails_with_the_worst_bins(seed):
    result = CalibrationGate(max_ece=0.05).evaluate(_binary(seed, distort=1.8))
    assert result.status is Status.FAILED
    assert result.reason is Reason.CALIBRATION_ERROR_ABOVE_LIMIT
    assert "is above the maximum 0.05" in result.message
    assert len(result.examples) == 3


def test_brier_uses_the_evaluated_metric_when_present():
    ctx = _binary(0)
    computed = CalibrationGate(max_brier=1.0).evaluate(ctx).observed["brier"]
    p = ctx.candidate.y_score[:, 1]
    assert computed == pytest.approx(np.mean((p - ctx.y_true) ** 2))
    given = GateContext(task=ctx.task, y_true=ctx.y_true, candidate=ctx.candidate, metrics={"brier": 0.3})
    result = CalibrationGate(max_brier=0.25).evaluate(given)
    assert result.reason is Reason.BRIER_ABOVE_LIMIT
    assert "Brier score = 0.3 is above the maximum 0.25" in result.message
    undefined = GateContext(
        task=ctx.task, y_true=ctx.y_true, candidate=ctx.candidate, metrics={"brier": math.nan}
    )
    result = CalibrationGate(max_brier=0.25).evaluate(undefined)
    assert result.reason is Reason.INCONCLUSIVE
    assert "Brier score could not be computed on the test split" in result.message


def test_quantile_bins_and_multiclass_top_label(seed):
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet([2, 2, 2], 900)
    y = np.array([rng.choice(3, p=row) for row in proba])
    outputs = ModelOutputs(proba.argmax(axis=1), proba, (0, 1, 2))
    ctx = GateContext(task="classification", y_true=y, candidate=outputs, metrics={})
    result = CalibrationGate(max_ece=0.08, binning="quantile", n_bins=5).evaluate(ctx)
    assert result.status is Status.PASSED, result.message
    assert result.evidence["target"] == "top label"
    assert [b["count"] for b in result.evidence["bins"]] == [180] * 5


def test_no_probabilities_is_inconclusive():
    ctx = GateContext(
        task="classification", y_true=np.array([0, 1]), candidate=ModelOutputs(np.array([0, 1])), metrics={}
    )
    result = CalibrationGate(max_ece=0.1).evaluate(ctx)
    assert result.status is Status.FAILED and result.reason is Reason.INCONCLUSIVE


def test_calibration_config_errors():
    with pytest.raises(ConfigError, match=r"needs at least one of the options 'max_ece', 'max_brier'"):
        build_gates([GateConfig(type="calibration")], task="classification")
    with pytest.raises(
        ConfigError, match=r"^shipyard.yaml: gates\[0\]: the calibration gate .* 'regression'"
    ):
        build_gates([GateConfig(type="calibration", max_ece=0.1)], task="regression")
    with pytest.raises(ConfigError, match=r"The 'binning' option of gate 'calibration' must be one of"):
        build_gates([GateConfig(type="calibration", max_ece=0.1, binning="equal")], task="classification")


def _classes(y: list[int], pred: list[int]) -> GateContext:
    return GateContext(
        task="classification",
        y_true=np.array(y),
        candidate=ModelOutputs(np.array(pred), None, (0, 1)),
        metrics={},
    )


def test_a_model_predicting_the_majority_for_every_row_collapses():
    ctx = _classes([0] * 97 + [1] * 3, [0] * 100)
    result = ClassCollapseGate().evaluate(ctx)
    assert result.status is Status.FAILED and result.reason is Reason.CLASS_COLLAPSE
    assert result.message == (
        "predicted classes: 0 is predicted for 100.0% of rows but is 97.0% of the labels: it took 100% "
        "of the other classes' share (max 90%) -> FAIL"
    )
    assert result.observed["majority_excess"] == 1.0


def test_an_imbalanced_but_working_model_passes():
    # predicts the minority half as often as it occurs: excess (98.5 - 97) / 3 = 50%
    pred = [0] * 96 + [1] + [0] * 2 + [1]
    result = ClassCollapseGate(min_entropy_ratio=0.3).evaluate(_classes([0] * 97 + [1] * 3, pred))
    assert result.status is Status.PASSED, result.message
    assert result.observed["majority_excess"] == pytest.approx(1 / 3)


def test_share_and_entropy_options():
    ctx = _classes([0, 1] * 50, [0] * 90 + [1] * 10)
    result = ClassCollapseGate(
        max_majority_excess=None, max_majority_share=0.8, min_entropy_ratio=0.6
    ).evaluate(ctx)
    reasons = [v["reason"] for v in result.evidence["violations"]]
    assert reasons == ["class_collapse", "low_prediction_entropy"]
    assert "above the maximum share 80.0%" in result.message
    assert "the predicted classes carry 0.47 of the labels' entropy (min 0.6)" in result.message


def test_constant_regression_predictions_fail(seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(10, 3, 400)
    for pred, status in (
        (y + rng.normal(0, 1, 400), Status.PASSED),
        (np.full(400, 10.0) + rng.normal(0, 0.01, 400), Status.FAILED),
    ):
        ctx = GateContext(task="regression", y_true=y, candidate=ModelOutputs(pred), metrics={})
        result = ClassCollapseGate().evaluate(ctx)
        assert result.status is status, result.message
    assert result.reason is Reason.CONSTANT_PREDICTIONS
    assert "(min ratio 0.1)" in result.message


def test_class_collapse_needs_an_option_for_its_task():
    options = {"max_majority_excess": None}
    with pytest.raises(
        ConfigError, match=r"gates\[0\]: gate 'class_collapse' on a classification task needs at least"
    ):
        build_gates([GateConfig(type="class_collapse", **options)], task="classification")
    with pytest.raises(
        ConfigError, match=r"on a regression task needs at least one of the options 'min_std_ratio'"
    ):
        build_gates([GateConfig(type="class_collapse", min_std_ratio=None)], task="regression")
