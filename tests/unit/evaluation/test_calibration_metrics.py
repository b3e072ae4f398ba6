"""Reliability bins and ECE: exact answers, agreement with scikit-learn, calibrated vs not."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve

from shipyard.evaluation import ModelOutputs
from shipyard.evaluation.calibration import (
    calibration_target,
    expected_calibration_error,
    reliability_bins,
)


def test_a_constant_score_has_a_known_ece():
    hit = np.array([1, 0] * 50)
    bins = reliability_bins(hit, np.full(100, 0.8))
    [only] = bins
    assert (only.predicted, only.observed, only.count) == (pytest.approx(0.8), 0.5, 100)
    assert expected_calibration_error(bins) == pytest.approx(0.3)


@pytest.mark.parametrize("binning", ["uniform", "quantile"])
def test_bins_match_sklearn_calibration_curve(seed, binning):
    rng = np.random.default_rng(seed)
    prob = rng.beta(0.5, 2, 800)
    hit = (rng.random(800) < prob).astype(int)
    bins = reliability_bins(hit, prob, n_bins=8, binning=binning)
    observed, predicted = calibration_curve(hit, prob, n_bins=8, strategy=binning)
    np.testing.assert_allclose([b.observed for b in bins], observed)
    np.testing.assert_allclose([b.predicted for b in bins], predicted)
    assert sum(b.count for b in bins) == 800


def test_quantile_bins_hold_equal_numbers_of_rows(seed):
    prob = np.random.default_rng(seed).random(1000)
    counts = [b.count for b in reliability_bins(np.zeros(1000), prob, n_bins=10, binning="quantile")]
    assert counts == [100] * 10


def test_calibrated_scores_have_a_small_ece_and_distorted_ones_a_large_one(seed):
    rng = np.random.default_rng(seed)
    prob = rng.random(4000)
    hit = (rng.random(4000) < prob).astype(int)
    assert expected_calibration_error(reliability_bins(hit, prob)) < 0.04
    overconfident = np.clip(0.5 + 1.8 * (prob - 0.5), 0, 1)
    assert expected_calibration_error(reliability_bins(hit, overconfident)) > 0.08


def test_target_is_the_positive_class_or_the_top_label():
    p = np.array([0.2, 0.9])
    binary = ModelOutputs(np.array(["no", "yes"]), np.column_stack([1 - p, p]), ("no", "yes"))
    hit, prob = calibration_target(np.array(["yes", "yes"]), binary)
    assert hit.tolist() == [1, 1] and prob.tolist() == [0.2, 0.9]
    scores = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    multi = ModelOutputs(np.array(["a", "c"]), scores, ("a", "b", "c"))
    hit, prob = calibration_target(np.array(["a", "b"]), multi)
    assert hit.tolist() == [1, 0] and prob.tolist() == [0.6, 0.6]


def test_no_rows_give_no_bins_and_nan():
    assert reliability_bins(np.array([]), np.array([])) == []
    assert np.isnan(expected_calibration_error([]))
