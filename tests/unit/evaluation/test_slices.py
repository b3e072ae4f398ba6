"""Per-slice metrics: one slice per category, quartiles for many-valued numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shipyard.errors import ConfigError
from shipyard.evaluation import ModelOutputs, compute_metrics, slice_metrics
from shipyard.evaluation.slices import MISSING, slice_labels


def _subset(out: ModelOutputs, mask: np.ndarray) -> ModelOutputs:
    return ModelOutputs(out.y_pred[mask], out.y_score[mask], out.classes)


def test_categorical_slices_hold_the_metrics_of_their_rows(make_classification, seed):
    y, out = make_classification(seed, n=400)
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"country": rng.choice(["fr", "de", "uk"], size=len(y))})
    result = slice_metrics("classification", y, out, frame, ["country"], ["accuracy", "roc_auc"])
    assert list(result["country"]) == ["de", "fr", "uk"]
    for value, figures in result["country"].items():
        mask = (frame["country"] == value).to_numpy()
        expected = compute_metrics("classification", y[mask], _subset(out, mask), ["accuracy", "roc_auc"])
        assert figures == {**expected, "count": float(mask.sum())}


def test_many_valued_numbers_are_cut_into_readable_quartiles(make_regression, seed):
    y, out = make_regression(seed, n=400)
    frame = pd.DataFrame({"age": np.random.default_rng(seed).integers(18, 90, len(y))})
    result = slice_metrics("regression", y, out, frame, ["age"], ["mae"])
    names = list(result["age"])
    assert len(names) == 4
    assert names[0].startswith("[") and all(n.startswith("(") for n in names[1:])
    assert sum(s["count"] for s in result["age"].values()) == len(y)
    low_edge = float(names[0][1:].split(",")[0])
    assert low_edge == frame["age"].min()


def test_quartile_names_stay_distinct_for_close_edges():
    _, ordered = slice_labels(pd.Series(1_000_000 + np.arange(40) / 1000))
    assert len(ordered) == len(set(ordered)) == 4
    assert ordered[0] == "[1000000, 1000000.01]"


def test_few_valued_numbers_and_missing_values_get_their_own_slices():
    column = pd.Series([1.0, 2.0, np.nan, 2.0, 10.0])
    labels, ordered = slice_labels(column)
    assert ordered == ["1.0", "2.0", "10.0", MISSING]
    assert labels.tolist() == ["1.0", "2.0", MISSING, "2.0", "10.0"]


def test_a_slice_with_one_class_reports_nan_auc_not_an_error():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.8, 0.2], [0.7, 0.3], [0.4, 0.6], [0.1, 0.9]])
    out = ModelOutputs(np.array([0, 0, 1, 1]), proba, (0, 1))
    frame = pd.DataFrame({"group": ["a", "a", "b", "b"]})
    result = slice_metrics("classification", y, out, frame, ["group"], ["roc_auc", "accuracy"])
    assert np.isnan(result["group"]["a"]["roc_auc"])
    assert result["group"]["b"]["accuracy"] == 1.0


def test_missing_column_is_named_with_the_available_ones(make_regression):
    y, out = make_regression(0, n=5)
    frame = pd.DataFrame({"age": range(5), "income": range(5)})
    with pytest.raises(
        ConfigError,
        match="column 'country' is not in the test data. Available columns: age, income",
    ):
        slice_metrics("regression", y, out, frame, ["age", "country"], ["mae"])


def test_frame_of_another_length_is_refused(make_regression):
    y, out = make_regression(0, n=5)
    with pytest.raises(ConfigError, match="the frame has 4 rows but y_true has 5"):
        slice_metrics("regression", y, out, pd.DataFrame({"a": range(4)}), ["a"], ["mae"])
