"""Single-feature scores: a leaked feature scores near 1, noise and identifiers near chance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from shipyard.evaluation.leakage import single_feature_score


def _data(seed: int, n: int = 1000) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {
            "leak": y * 10.0 + rng.random(n),
            "inverted": -y + rng.random(n) * 0.1,
            "noise": rng.normal(size=n),
            "row_id": np.arange(n).astype(str),
            "code": np.where(y == 1, "F", "L"),
            "city": rng.choice(["x", "y", "z"], n),
        }
    )
    return frame, y


def _score(seed: int, column: str, task: str = "classification") -> float:
    frame, y = _data(seed)
    train, test = frame.iloc[:600], frame.iloc[600:].reset_index(drop=True)
    return single_feature_score(train[column], y[:600], test[column], y[600:], task=task, classes=(0, 1))


@pytest.mark.parametrize("column", ["leak", "inverted", "code"])
def test_a_leaked_feature_scores_one_in_either_direction(seed, column):
    assert _score(seed, column) == pytest.approx(1.0)


@pytest.mark.parametrize("column", ["noise", "row_id", "city"])
def test_noise_and_identifiers_score_near_chance(seed, column):
    # each test identifier is unseen in training, so its target rate is the overall one
    assert 0.35 < _score(seed, column) < 0.65


def test_missing_values_rank_below_present_ones():
    y = np.array([0, 0, 1, 1])
    test = pd.Series([np.nan, np.nan, 1.0, 2.0])
    assert single_feature_score(test, y, test, y, task="classification", classes=(0, 1)) == 1.0


def test_dates_are_scored_as_instants():
    y = np.array([0, 0, 1, 1])
    dates = pd.Series(pd.to_datetime([None, "2025-01-02", "2025-02-01", "2025-03-01"]))
    assert single_feature_score(dates, y, dates, y, task="classification", classes=(0, 1)) == 1.0


def test_multiclass_averages_one_vs_rest(seed):
    rng = np.random.default_rng(seed)
    y = rng.choice(["a", "b", "c"], 500)
    copy = pd.Series(y)
    assert single_feature_score(copy, y, copy, y, task="classification", classes=("a", "b", "c")) == 1.0
    # separating one class from the others (iris petal length and setosa) is a strong feature, not a leak
    only_c = pd.Series(np.where(y == "c", 5.0, 0.0) + rng.random(500))
    one_class = single_feature_score(only_c, y, only_c, y, task="classification", classes=("a", "b", "c"))
    assert 0.75 < one_class < 0.9


def test_regression_uses_r2(seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=800)
    copy = pd.Series(2 * y + 1)
    noise = pd.Series(rng.normal(size=800))
    assert single_feature_score(copy, y, copy, y, task="regression") == pytest.approx(1.0)
    assert single_feature_score(noise, y, noise, y, task="regression") < 0.05
    bucket = pd.Series(np.where(y > 0, "hi", "lo"))
    assert 0.5 < single_feature_score(bucket[:400], y[:400], bucket[400:], y[400:], task="regression") < 0.8


def test_a_constant_feature_is_undefined():
    y = np.array([0, 1, 0, 1])
    assert np.isnan(single_feature_score(pd.Series([1.0] * 4), y, pd.Series([1.0] * 4), y, task="regression"))


def test_rank_auc_equals_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    score = pd.Series(rng.integers(0, 20, 300).astype(float))
    expected = roc_auc_score(y, score)
    found = single_feature_score(score, y, score, y, task="classification", classes=(0, 1))
    assert found == pytest.approx(max(expected, 1 - expected), abs=1e-12)
