"""The vectorised paired bootstrap equals a slow per-resample loop on the same indices."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shipyard.errors import ConfigError
from shipyard.evaluation import METRICS, Metric, ModelOutputs, paired_bootstrap
from shipyard.evaluation.statistics import resample_blocks

RESAMPLES = 12
LOOP_SEEDS = [0, 1]  # the slow reference loop is costly; two seeds cover both label sets
CONFIDENCE = 0.8


def _take(out: ModelOutputs, rows: np.ndarray) -> ModelOutputs:
    score = None if out.y_score is None else out.y_score[rows]
    return ModelOutputs(out.y_pred[rows], score, out.classes)


def _reference(metric, y, candidate, baseline, seed):
    """Percentile interval from scikit-learn on each resample, one at a time."""
    rows = np.random.default_rng(seed).integers(0, len(y), size=(RESAMPLES, len(y)))
    diffs = np.array([metric(y[r], _take(candidate, r)) - metric(y[r], _take(baseline, r)) for r in rows])
    kept = diffs[~np.isnan(diffs)]
    tail = 100 * (1 - CONFIDENCE) / 2
    return np.percentile(kept, [tail, 100 - tail]), len(diffs) - len(kept)


def _ties(out: ModelOutputs) -> ModelOutputs:
    """Scores rounded to one decimal: many ties, as trees and calibrated models give."""
    score = np.round(out.y_score, 1)
    score[:, 0] = 1 - score[:, 1:].sum(axis=1)
    return ModelOutputs(out.y_pred, score, out.classes)


CLASSIFICATION = [n for n, m in METRICS.items() if m.task == "classification"]


@pytest.mark.parametrize("seed", LOOP_SEEDS)
@pytest.mark.parametrize("name", CLASSIFICATION)
@pytest.mark.parametrize("classes", [(0, 1), ("a", "b", "c")])
def test_classification_bootstrap_matches_slow_loop(make_classification, seed, name, classes):
    y, candidate = make_classification(seed, n=150, classes=classes)
    _, baseline = make_classification(seed + 100, n=150, classes=classes, signal=1.0)
    if len(classes) == 2:
        candidate, baseline = _ties(candidate), _ties(baseline)
    metric = METRICS[name]
    result = paired_bootstrap(
        metric, y, candidate, baseline, n_resamples=RESAMPLES, confidence=CONFIDENCE, seed=seed
    )
    (low, high), dropped = _reference(metric, y, candidate, baseline, seed)
    assert (result.low, result.high) == pytest.approx((low, high), rel=1e-9, abs=1e-12)
    assert result.n_dropped == dropped
    assert result.observed_difference == pytest.approx(metric(y, candidate) - metric(y, baseline))


@pytest.mark.parametrize("name", ["rmse", "mae", "r2"])
def test_regression_bootstrap_matches_slow_loop(make_regression, seed, name):
    y, candidate = make_regression(seed, n=150, noise=1.0)
    baseline = ModelOutputs(y + np.random.default_rng(seed + 7).normal(0, 1.2, len(y)))
    metric = METRICS[name]
    result = paired_bootstrap(
        metric, y, candidate, baseline, n_resamples=RESAMPLES, confidence=CONFIDENCE, seed=seed
    )
    (low, high), _ = _reference(metric, y, candidate, baseline, seed)
    assert (result.low, result.high) == pytest.approx((low, high), rel=1e-9)


def test_a_user_metric_without_vectorised_form_uses_the_loop(make_classification, seed):
    y, candidate = make_classification(seed, n=150)
    _, baseline = make_classification(seed + 1, n=150, signal=0.5)
    errors = Metric("errors", "classification", False, False, lambda t, o: float(np.sum(t != o.y_pred)))
    result = paired_bootstrap(
        errors, y, candidate, baseline, n_resamples=RESAMPLES, confidence=CONFIDENCE, seed=seed
    )
    (low, high), _ = _reference(errors, y, candidate, baseline, seed)
    assert (result.low, result.high) == pytest.approx((low, high))


def test_blocks_concatenate_to_one_draw():
    blocks = list(resample_blocks(4000, 1100, seed=3))
    assert [len(b) for b in blocks] == [500, 500, 100]
    whole = np.random.default_rng(3).integers(0, 4000, size=(1100, 4000))
    assert np.array_equal(np.concatenate(blocks), whole)


def test_identical_models_give_a_zero_interval(make_classification):
    y, out = make_classification(0)
    result = paired_bootstrap(METRICS["roc_auc"], y, out, out, n_resamples=200)
    assert (result.low, result.high, result.observed_difference) == (0.0, 0.0, 0.0)


def test_resamples_without_a_positive_are_dropped_and_counted():
    rng = np.random.default_rng(0)
    y = np.zeros(40, dtype=int)
    y[0] = 1  # about a third of the resamples miss the only positive row
    scores = [rng.uniform(size=40) for _ in range(2)]
    a, b = (ModelOutputs((p > 0.5).astype(int), np.column_stack([1 - p, p]), (0, 1)) for p in scores)
    result = paired_bootstrap(METRICS["roc_auc"], y, a, b, n_resamples=300)
    assert 50 < result.n_dropped < 160
    assert math.isfinite(result.low) and result.low <= result.high


def test_all_resamples_undefined_gives_nan_bounds():
    y = np.ones(20, dtype=int)
    out = ModelOutputs(np.ones(20, dtype=int), np.tile([0.3, 0.7], (20, 1)), (0, 1))
    result = paired_bootstrap(METRICS["roc_auc"], y, out, out, n_resamples=100)
    assert result.n_dropped == 100 and math.isnan(result.low) and math.isnan(result.high)


def test_inputs_of_different_lengths_are_refused(make_regression):
    y, out = make_regression(0, n=10)
    with pytest.raises(ConfigError, match="got 9 labels, 10 candidate and 10 baseline"):
        paired_bootstrap(METRICS["rmse"], y[:9], out, out)
    with pytest.raises(ConfigError, match="'confidence' must be a float in \\(0, 1\\). Got 1.5"):
        paired_bootstrap(METRICS["rmse"], y, out, out, confidence=1.5)
    with pytest.raises(ConfigError, match="'n_resamples' must be an int >= 1. Got 0 instead"):
        paired_bootstrap(METRICS["rmse"], y, out, out, n_resamples=0)
