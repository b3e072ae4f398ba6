"""Per-group rates and disparities, checked against fairlearn's own functions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
)

from shipyard.evaluation import ModelOutputs
from shipyard.evaluation.fairness import binary_decisions, disparities, group_labels, group_table


def _biased(seed: int, n: int = 600) -> tuple[np.ndarray, ModelOutputs, pd.DataFrame]:
    """Three groups; group 'c' gets its scores raised, so it is selected more often."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"group": rng.choice(["a", "b", "c"], n), "region": rng.choice(["n", "s"], n)})
    y = rng.integers(0, 2, n)
    z = 1.5 * y + rng.normal(size=n) + np.where(frame["group"] == "c", 1.0, 0.0)
    p = 1 / (1 + np.exp(-(z - 0.75)))
    return y, ModelOutputs((p >= 0.5).astype(int), np.column_stack([1 - p, p]), (0, 1)), frame


def test_disparities_match_fairlearn(seed):
    y, outputs, frame = _biased(seed)
    groups = group_labels(frame, ["group"])
    result = disparities(group_table(y, outputs, groups), min_group_size=1)
    decided = binary_decisions(outputs, 0.5)
    found = {k: d.value for k, d in result.disparities.items()}
    assert found["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y, decided, sensitive_features=groups)
    )
    assert found["demographic_parity_ratio"] == pytest.approx(
        demographic_parity_ratio(y, decided, sensitive_features=groups)
    )
    assert found["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(y, decided, sensitive_features=groups)
    )
    assert result.disparities["demographic_parity_difference"].high_group == "c"


def test_group_table_has_sizes_rates_and_requested_metrics(seed):
    y, outputs, frame = _biased(seed)
    table = group_table(y, outputs, group_labels(frame, ["group"]), metrics=["recall", "precision"])
    assert list(table.index) == ["a", "b", "c"]
    assert table["size"].sum() == len(y)
    mask = (frame["group"] == "a").to_numpy()
    positives = y[mask] == 1
    assert table.loc["a", "recall"] == pytest.approx(np.mean(outputs.y_pred[mask][positives] == 1))
    assert table.loc["a", "tpr"] == pytest.approx(table.loc["a", "recall"])


def test_threshold_moves_the_decisions():
    p = np.array([0.2, 0.4, 0.6, 0.8])
    outputs = ModelOutputs((p >= 0.5).astype(int), np.column_stack([1 - p, p]), (0, 1))
    assert binary_decisions(outputs, 0.5).tolist() == [False, False, True, True]
    assert binary_decisions(outputs, 0.3).tolist() == [False, True, True, True]
    no_scores = ModelOutputs(np.array(["no", "yes"]), None, ("no", "yes"))
    assert binary_decisions(no_scores, 0.5).tolist() == [False, True]


def test_intersectional_groups_are_named_by_column():
    frame = pd.DataFrame({"group": ["a", "a", "b"], "region": ["n", "s", None]})
    assert group_labels(frame, ["group", "region"]).tolist() == [
        "group=a & region=n",
        "group=a & region=s",
        "group=b & region=<missing>",
    ]


def test_small_groups_are_listed_and_left_out():
    y = np.array([0, 1] * 20 + [1, 1])
    p = np.array([0.1, 0.9] * 20 + [0.1, 0.1])
    outputs = ModelOutputs((p >= 0.5).astype(int), np.column_stack([1 - p, p]), (0, 1))
    groups = pd.Series(["big"] * 20 + ["other"] * 20 + ["tiny"] * 2)
    result = disparities(group_table(y, outputs, groups), min_group_size=10)
    assert result.too_small == ["tiny"]
    # without 'tiny' (TPR 0) both compared groups are perfect
    assert result.disparities["equalized_odds_difference"].value == 0
    assert result.disparities["demographic_parity_ratio"].value == 1


def test_undefined_rates_are_nan_and_zero_rates_compare_as_equal():
    y = np.array([0, 0, 0, 1, 0, 0])
    p = np.array([0.1, 0.1, 0.1, 0.9, 0.1, 0.1])
    outputs = ModelOutputs((p >= 0.5).astype(int), np.column_stack([1 - p, p]), (0, 1))
    table = group_table(y, outputs, pd.Series(["a", "a", "b", "b", "c", "c"]))
    assert math.isnan(table.loc["a", "tpr"]) and table.loc["b", "tpr"] == 1
    result = disparities(table, min_group_size=1)
    assert result.disparities["fpr_ratio"].value == 1.0  # no group has a false positive
    # only 'b' has positives, so the TPR difference is undefined; FPRs are all 0
    assert result.disparities["equalized_odds_difference"].value == 0.0
