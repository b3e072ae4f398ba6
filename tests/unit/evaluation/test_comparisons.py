"""DeLong, McNemar and the bootstrap test against independent references."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from shipyard.errors import ConfigError
from shipyard.evaluation import METRICS, ModelOutputs
from shipyard.evaluation.comparisons import (
    EXACT_BELOW,
    bootstrap_test,
    compare,
    delong,
    delong_test,
    mcnemar_test,
    resolve_method,
)
from shipyard.evaluation.statistics import bootstrap_differences


def _naive_delong(positive: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's structural components from every (positive, negative) pair: O(m n)."""
    x, y = scores[positive], scores[~positive]
    psi = (x[:, None, :] > y[None, :, :]) + 0.5 * (x[:, None, :] == y[None, :, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    cov = np.cov(v10, rowvar=False) / len(x) + np.cov(v01, rowvar=False) / len(y)
    return psi.mean(axis=(0, 1)), cov


def _pair(seed: int, n: int, ties: bool = False) -> tuple[np.ndarray, ModelOutputs, ModelOutputs]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    latent = 1.2 * y + rng.normal(size=n)

    def outputs(score: np.ndarray) -> ModelOutputs:
        p = 1 / (1 + np.exp(-score))
        p = np.round(p, 1) if ties else p
        return ModelOutputs((p > 0.5).astype(int), np.column_stack([1 - p, p]), (0, 1))

    return y, outputs(latent + rng.normal(scale=0.5, size=n)), outputs(latent + rng.normal(scale=0.7, size=n))


def test_delong_on_a_hand_computed_example():
    # positives score 0.9 and 0.6, negatives 0.7 and 0.1: 3 of 4 pairs ordered, AUC 3/4;
    # components V10 = [1, 1/2], V01 = [1/2, 1]: variance 0.125 / 2 + 0.125 / 2 = 0.125.
    aucs, cov = delong(np.array([True, True, False, False]), np.array([[0.9], [0.6], [0.7], [0.1]]))
    assert aucs.tolist() == [0.75] and cov.tolist() == [[0.125]]


@pytest.mark.parametrize("ties", [False, True])
def test_delong_equals_the_pairwise_definition_and_scikit_learn(seed, ties):
    y, a, b = _pair(seed, 300, ties=ties)
    positive = y == 1
    scores = np.column_stack([a.y_score[:, 1], b.y_score[:, 1]])
    aucs, cov = delong(positive, scores)
    reference_aucs, reference_cov = _naive_delong(positive, scores)
    assert aucs == pytest.approx(reference_aucs) and cov == pytest.approx(reference_cov)
    assert aucs[0] == pytest.approx(roc_auc_score(y, scores[:, 0]))


def test_delong_variance_matches_the_bootstrap_variance(seed):
    y, a, b = _pair(seed, 1500)
    result = delong_test(y, a, b)
    draws = bootstrap_differences(METRICS["roc_auc"], y, a, b, n_resamples=1000, seed=seed)
    assert result.std_error == pytest.approx(np.std(draws), rel=0.15)
    z = (result.difference - result.null) / result.std_error
    assert result.p_value == pytest.approx(1 - NormalDist().cdf(z))


def test_delong_interval_and_p_value_agree():
    y, a, b = _pair(0, 800)
    result = delong_test(y, a, b, null=-0.01, confidence=0.9)
    # the one-sided 95% bound is above the null exactly when p < 0.05
    assert (result.ci_low > -0.01) == (result.p_value < 0.05)
    assert result.ci_low < result.difference < result.ci_high and result.confidence == 0.9


def test_delong_without_two_rows_of_each_class_is_undefined():
    y = np.array([0, 0, 0, 1])
    out = ModelOutputs(y, np.column_stack([1 - y * 0.8, y * 0.8]), (0, 1))
    assert math.isnan(delong_test(y, out, out).p_value)


def test_delong_refuses_multiclass_and_compare_falls_back_to_the_bootstrap(make_classification):
    y, candidate = make_classification(0, n=150, classes=("a", "b", "c"))
    _, baseline = make_classification(1, n=150, classes=("a", "b", "c"))
    with pytest.raises(ConfigError, match="3 classes. Use method 'bootstrap'"):
        delong_test(y, candidate, baseline)
    result = compare("roc_auc", y, candidate, baseline, method="delong", n_resamples=100)
    assert result.test == "bootstrap" and "DeLong needs binary labels" in result.note


def _accuracy_pair(b: int, c: int, same: int, n: int) -> tuple[np.ndarray, ModelOutputs, ModelOutputs]:
    """b rows only the candidate gets right, c only the baseline, `same` both, the rest neither."""
    y = np.ones(n, dtype=int)
    right_c = np.r_[np.ones(b), np.zeros(c), np.ones(same), np.zeros(n - b - c - same)].astype(bool)
    right_b = np.r_[np.zeros(b), np.ones(c), np.ones(same), np.zeros(n - b - c - same)].astype(bool)
    return y, ModelOutputs(np.where(right_c, 1, 0)), ModelOutputs(np.where(right_b, 1, 0))


@pytest.mark.parametrize(("b", "c"), [(0, 0), (3, 1), (12, 20), (20, 12), (30, 19)])
def test_mcnemar_exact_matches_scipy_binomtest(b, c):
    assert b + c < EXACT_BELOW
    y, candidate, baseline = _accuracy_pair(b, c, 100, 200)
    result = mcnemar_test(y, candidate, baseline)
    expected = stats.binomtest(b, b + c, 0.5, alternative="greater").pvalue if b + c else 1.0
    assert result.test == "mcnemar_exact" and result.p_value == pytest.approx(expected)
    assert result.difference == pytest.approx((b - c) / 200)


def test_mcnemar_score_test_at_zero_is_the_uncorrected_mcnemar_z():
    y, candidate, baseline = _accuracy_pair(70, 40, 500, 1000)
    result = mcnemar_test(y, candidate, baseline)
    assert result.test == "mcnemar_score"
    assert result.p_value == pytest.approx(1 - NormalDist().cdf(30 / math.sqrt(110)))
    assert result.std_error == pytest.approx(math.sqrt(110 - 30**2 / 1000) / 1000)


def test_mcnemar_with_a_margin_is_tangos_score_test():
    # Tango (1998): restricted MLE of the baseline-only cell under difference = -0.02
    y, candidate, baseline = _accuracy_pair(30, 45, 500, 1000)
    result = mcnemar_test(y, candidate, baseline, null=-0.02)
    a, b_, c_ = 2000, -75 + (2000 - 30 + 45) * -0.02, -45 * -0.02 * 1.02
    p21 = (math.sqrt(b_**2 - 4 * a * c_) - b_) / (2 * a)
    z = (30 - 45 + 1000 * 0.02) / math.sqrt(1000 * (2 * p21 - 0.02 * 1.02))
    assert result.p_value == pytest.approx(1 - NormalDist().cdf(z))
    assert 0.2 < result.p_value < 0.4  # the loss of 0.015 is not shown to be under 0.02


def test_bootstrap_test_orients_lower_is_better_metrics(make_regression):
    y, good = make_regression(0, n=400, noise=1.0)
    _, bad = make_regression(0, n=400, noise=2.0)
    better = bootstrap_test(METRICS["rmse"], y, good, bad, n_resamples=300)
    assert better.difference > 0 and better.ci_low > 0 and better.p_value == pytest.approx(1 / 301)
    worse = bootstrap_test(METRICS["rmse"], y, bad, good, n_resamples=300)
    assert worse.difference < 0 and worse.p_value == 1.0


def test_the_bag_of_little_bootstraps_agrees_with_delong_on_large_data():
    y, a, b = _pair(0, 60_000)  # 60,000 rows x 1,000 resamples is above the switch
    result = bootstrap_test(METRICS["roc_auc"], y, a, b, n_resamples=1000)
    reference = delong_test(y, a, b)
    assert result.difference == pytest.approx(reference.difference)
    assert result.std_error == pytest.approx(reference.std_error, rel=0.2)


@pytest.mark.parametrize(
    ("method", "metric", "expected"),
    [
        ("auto", "roc_auc", "delong"),
        ("auto", "accuracy", "mcnemar"),
        ("auto", "f1", "bootstrap"),
        ("bootstrap", "roc_auc", "bootstrap"),
        ("mcnemar", "accuracy", "mcnemar"),
    ],
)
def test_auto_picks_the_test_for_the_metric(method, metric, expected):
    assert resolve_method(method, metric) == expected


def test_a_test_that_does_not_fit_the_metric_is_a_config_error():
    with pytest.raises(ConfigError, match="The 'mcnemar' test applies to accuracy only, not 'f1'"):
        resolve_method("mcnemar", "f1")
    with pytest.raises(ConfigError, match="Unknown comparison method 'wilcoxon'"):
        resolve_method("wilcoxon", "f1")
