"""Curve data for reports agrees with scikit-learn and stays compact."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from shipyard.evaluation.curves import (
    calibration_bins,
    curve_data,
    histogram,
    pr_points,
    roc_points,
)
from shipyard.evaluation.outputs import ModelOutputs


def _binary(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    # rounded scores create ties, which the curves must handle as scikit-learn does
    score = np.round(1 / (1 + np.exp(-(2 * y - 1) - rng.normal(size=n))), 2)
    return y, score


def test_the_roc_curve_has_sklearns_area_and_spans_the_unit_square(seed: int):
    y, score = _binary(seed, 400)
    roc = roc_points(y, score, max_points=10_000)
    assert roc["fpr"][0] == roc["tpr"][0] == 0.0 and roc["fpr"][-1] == roc["tpr"][-1] == 1.0
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(roc_auc_score(y, score), abs=1e-4)
    assert np.all(np.diff(roc["fpr"]) >= 0) and np.all(np.diff(roc["tpr"]) >= 0)


def test_long_curves_are_thinned_to_max_points_keeping_both_ends(seed: int):
    rng = np.random.default_rng(seed)
    y, score = rng.integers(0, 2, 5000), rng.random(5000)
    roc, pr = roc_points(y, score, max_points=50), pr_points(y, score, max_points=50)
    assert len(roc["fpr"]) <= 50 and len(pr["recall"]) <= 50
    assert (roc["fpr"][0], roc["fpr"][-1]) == (0.0, 1.0)
    assert pr["recall"][-1] == 1.0


def test_precision_recall_points_are_sklearns(seed: int):
    y, score = _binary(seed, 300)
    pr = pr_points(y, score, max_points=10_000)
    precision, recall, _ = precision_recall_curve(y, score)
    # scikit-learn lists thresholds from low to high and appends (recall 0, precision 1)
    np.testing.assert_allclose(pr["recall"], recall[:-1][::-1], atol=1e-5)
    np.testing.assert_allclose(pr["precision"], precision[:-1][::-1], atol=1e-5)
    step_area = np.sum(np.diff(np.r_[0, pr["recall"]]) * np.asarray(pr["precision"]))
    assert step_area == pytest.approx(average_precision_score(y, score), abs=1e-4)
    assert pr["prevalence"] == pytest.approx(y.mean(), abs=1e-5)


@pytest.mark.parametrize("labels", [np.zeros(5, int), np.ones(5, int)])
def test_curves_are_none_when_a_class_is_missing(labels: np.ndarray):
    score = np.linspace(0, 1, 5)
    assert roc_points(labels, score) is None
    assert (pr_points(labels, score) is None) == (labels.sum() == 0)


def test_calibration_bins_count_every_row_once(seed: int):
    rng = np.random.default_rng(seed)
    prob = rng.random(500)
    y = rng.random(500) < prob
    bins = calibration_bins(y, prob, n_bins=10)
    assert sum(bins["count"]) == 500
    assert all(0 <= p <= 1 for p in bins["mean_predicted"] + bins["fraction_positive"])
    # a calibrated model's observed rate follows its predictions
    assert np.corrcoef(bins["mean_predicted"], bins["fraction_positive"])[0, 1] > 0.8
    assert calibration_bins(np.array([]), np.array([])) is None


def test_histogram_log_bins_are_geometric_and_drop_what_they_cannot_show():
    values = np.array([0.5, 1.0, 2.0, 4.0, np.nan, -1.0, 0.0])
    result = histogram(values, bins=3, log=True)
    assert sum(result["counts"]) == 4 and result["log"]
    ratios = np.diff(np.log(result["edges"]))
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-4)
    assert sum(histogram(np.array([3.0, 3.0]), bins=4)["counts"]) == 2
    assert histogram(np.array([np.nan])) is None


def test_curve_data_by_task(make_classification, make_regression, seed: int):
    y, outputs = make_classification(seed, classes=("a", "b"))
    binary = curve_data("classification", y, outputs)
    assert binary["positive"] == "b" and {"roc", "pr", "calibration"} <= set(binary)
    assert np.trapezoid(binary["roc"]["tpr"], binary["roc"]["fpr"]) > 0.7

    y, outputs = make_classification(seed, classes=(0, 1, 2))
    multi = curve_data("classification", y, outputs)
    assert multi["positive"].startswith("micro") and sum(multi["calibration"]["count"]) == len(y)

    y, outputs = make_regression(seed)
    assert sum(curve_data("regression", y, outputs)["residuals"]["counts"]) == len(y)
    no_scores = ModelOutputs(outputs.y_pred.round() > 10, None, (False, True))
    assert curve_data("classification", y > 10, no_scores) == {}


@pytest.mark.parametrize("bad", [np.nan, 1.5, -0.2])
def test_broken_probabilities_give_no_curves_instead_of_crashing(bad):
    score = np.tile([0.3, 0.7], (4, 1))
    score[1] = [bad, 0.5]
    outputs = ModelOutputs(np.array([1, 1, 0, 1]), score, (0, 1))
    assert curve_data("classification", np.array([0, 1, 0, 1]), outputs) == {}
