"""OutputContractGate: every violation of the output contract is found and reported."""

from __future__ import annotations

import numpy as np
import pytest

from shipyard.core.results import Reason, Status
from shipyard.errors import ConfigError
from shipyard.evaluation import ModelOutputs
from shipyard.gates import GateContext, OutputContractGate


def _ctx(outputs: ModelOutputs, task: str = "classification", n: int = 4) -> GateContext:
    return GateContext(task=task, y_true=np.arange(n) % 2, candidate=outputs, metrics={})


GOOD = ModelOutputs(
    np.array([0, 1, 0, 1]), np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]), (0, 1)
)


def _reasons(result) -> list[str]:
    return [v["reason"] for v in result.evidence["violations"]]


def test_good_outputs_pass(make_context):
    result = OutputContractGate().evaluate(_ctx(GOOD))
    assert result.status is Status.PASSED
    assert result.message == "outputs on 4 rows meet the contract, 2 classes predicted -> PASS"
    assert OutputContractGate().evaluate(make_context()).status is Status.PASSED


def test_wrong_lengths_are_a_shape_violation():
    out = ModelOutputs(np.array([0, 1, 0]), np.array([[0.5, 0.5]] * 3), (0, 1))
    result = OutputContractGate().evaluate(_ctx(out))
    assert result.reason is Reason.WRONG_OUTPUT_SHAPE
    assert "y_pred has shape (3,), expected (4,)" in result.message
    assert "y_score has shape (3, 2), expected (4, 2)" in result.message


def test_nan_predictions_and_scores_are_counted():
    scores = GOOD.y_score.copy()
    scores[2] = np.nan
    out = ModelOutputs(np.array([0.0, np.nan, 0.0, 1.0]), scores, (0, 1))
    result = OutputContractGate().evaluate(_ctx(out))
    assert result.reason is Reason.NAN_PREDICTIONS
    assert "1 predictions are missing" in result.message
    assert "1 rows of probabilities contain NaN" in result.message


def test_probabilities_outside_the_unit_interval_or_not_summing_to_one():
    scores = np.array([[1.2, -0.2], [0.2, 0.8], [0.5, 0.6], [0.3, 0.7]])
    result = OutputContractGate().evaluate(_ctx(ModelOutputs(GOOD.y_pred, scores, (0, 1))))
    assert _reasons(result) == ["probability_out_of_range", "probability_out_of_range"]
    assert "2 probabilities lie outside [0, 1] (min -0.2, max 1.2)" in result.message
    assert "1 rows of probabilities do not sum to 1 within 1e-06 (e.g. 1.1)" in result.message


def test_a_sum_off_by_less_than_the_tolerance_passes():
    scores = GOOD.y_score + np.array([[1e-8, 0.0]] * 4)
    result = OutputContractGate().evaluate(_ctx(ModelOutputs(GOOD.y_pred, scores, (0, 1))))
    assert result.status is Status.PASSED


def test_a_single_predicted_class_fails_and_the_floor_is_configurable():
    out = ModelOutputs(np.zeros(4, dtype=int), GOOD.y_score, (0, 1))
    result = OutputContractGate().evaluate(_ctx(out))
    assert result.reason is Reason.SINGLE_CLASS_PREDICTED
    assert result.evidence["predicted_classes"] == 1
    assert OutputContractGate(min_predicted_classes=1).evaluate(_ctx(out)).status is Status.PASSED


def test_regression_predictions_must_be_numeric():
    strings = ModelOutputs(np.array(["1.0", "2.0", "3.0", "4.0"]))
    result = OutputContractGate().evaluate(_ctx(strings, task="regression"))
    assert result.reason is Reason.WRONG_OUTPUT_DTYPE
    assert "regression predictions have dtype <U3" in result.message
    numbers = ModelOutputs(np.array([1.0, 2.0, 3.0, 4.0]))
    assert OutputContractGate().evaluate(_ctx(numbers, task="regression")).status is Status.PASSED


def test_every_violation_is_reported_at_once():
    scores = np.array([[np.nan, 0.5], [1.5, 0.8], [0.5, 0.5]])
    out = ModelOutputs(np.zeros(3, dtype=int), scores, (0, 1))
    result = OutputContractGate().evaluate(_ctx(out))
    assert _reasons(result) == [
        "wrong_output_shape",
        "wrong_output_shape",
        "nan_predictions",
        "probability_out_of_range",
        "probability_out_of_range",
        "single_class_predicted",
    ]
    assert result.reason is Reason.WRONG_OUTPUT_SHAPE


def test_min_predicted_classes_must_be_a_positive_int():
    with pytest.raises(ConfigError) as info:
        OutputContractGate.from_params({"min_predicted_classes": 0})
    assert str(info.value) == (
        "The 'min_predicted_classes' option of gate 'output_contract' must be an int in "
        "[1, inf). Got 0 instead."
    )
