"""Metrics agree with scikit-learn, are NaN where undefined, and names are checked early."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    mean_absolute_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.preprocessing import label_binarize

from shipyard.errors import ConfigError
from shipyard.evaluation import (
    METRICS,
    ModelOutputs,
    check_metric_names,
    compute_metrics,
    default_metrics,
)


def _binary_reference(y, out):
    pos = out.classes[-1]
    proba = out.y_score
    return {
        "accuracy": accuracy_score(y, out.y_pred),
        "f1": f1_score(y, out.y_pred, pos_label=pos),
        "precision": precision_score(y, out.y_pred, pos_label=pos),
        "recall": recall_score(y, out.y_pred, pos_label=pos),
        "roc_auc": roc_auc_score(y == pos, proba[:, 1]),
        "average_precision": average_precision_score(y == pos, proba[:, 1]),
        "log_loss": log_loss(y, proba, labels=list(out.classes)),
        "brier": brier_score_loss(y == pos, proba[:, 1]),
    }


@pytest.mark.parametrize("classes", [(0, 1), ("no", "yes")])
def test_binary_metrics_match_sklearn(make_classification, seed, classes):
    y, out = make_classification(seed, classes=classes)
    names = [n for n, m in METRICS.items() if m.task == "classification"]
    assert compute_metrics("classification", y, out, names) == pytest.approx(
        _binary_reference(y, out), rel=1e-12
    )


def test_multiclass_metrics_match_sklearn_macro_and_ovr(make_classification, seed):
    classes = (0, 1, 2)
    y, out = make_classification(seed, classes=classes, signal=1.0)
    expected = {
        "accuracy": accuracy_score(y, out.y_pred),
        "f1": f1_score(y, out.y_pred, average="macro"),
        "precision": precision_score(y, out.y_pred, average="macro"),
        "recall": recall_score(y, out.y_pred, average="macro"),
        "roc_auc": roc_auc_score(y, out.y_score, multi_class="ovr", labels=list(classes)),
        "average_precision": average_precision_score(
            label_binarize(y, classes=list(classes)), out.y_score, average="macro"
        ),
        "log_loss": log_loss(y, out.y_score, labels=list(classes)),
        "brier": brier_score_loss(y, out.y_score, labels=list(classes)),
    }
    assert compute_metrics("classification", y, out, list(expected)) == pytest.approx(expected, rel=1e-12)


def test_regression_metrics_match_sklearn(make_regression, seed):
    y, out = make_regression(seed)
    assert compute_metrics("regression", y, out) == pytest.approx(
        {
            "rmse": root_mean_squared_error(y, out.y_pred),
            "mae": mean_absolute_error(y, out.y_pred),
            "r2": r2_score(y, out.y_pred),
        },
        rel=1e-12,
    )


def test_positive_class_is_the_models_last_class():
    # the model orders its classes (1, 0): class 0 is then the positive one
    y = np.array([0, 0, 1, 1, 0])
    out = ModelOutputs(np.array([0, 1, 1, 1, 0]), np.full((5, 2), 0.5), classes=(1, 0))
    values = compute_metrics("classification", y, out, ["precision", "recall"])
    assert values == {"precision": 1.0, "recall": pytest.approx(2 / 3)}


def test_undefined_metrics_are_nan_not_errors():
    one_class = np.array([1, 1, 1])
    out = ModelOutputs(np.array([1, 0, 1]), np.array([[0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]), (0, 1))
    values = compute_metrics("classification", one_class, out, ["roc_auc", "accuracy"])
    assert math.isnan(values["roc_auc"])
    assert values["accuracy"] == pytest.approx(2 / 3)
    no_scores = ModelOutputs(np.array([1, 0, 1]), classes=(0, 1))
    assert math.isnan(compute_metrics("classification", one_class, no_scores, ["log_loss"])["log_loss"])
    empty = ModelOutputs(np.array([]), np.empty((0, 2)), (0, 1))
    assert all(math.isnan(v) for v in compute_metrics("classification", np.array([]), empty).values())
    assert math.isnan(
        compute_metrics("regression", np.array([1.0]), ModelOutputs(np.array([2.0])), ["r2"])["r2"]
    )


def test_probabilities_out_of_range_give_nan():
    y = np.array([0, 1, 1])
    out = ModelOutputs(np.array([0, 1, 1]), np.array([[1.5, -0.5], [0.2, 0.8], [0.1, 0.9]]), (0, 1))
    assert math.isnan(compute_metrics("classification", y, out, ["log_loss"])["log_loss"])


def test_default_metrics_per_task():
    assert default_metrics("classification") == ["accuracy", "f1", "roc_auc", "log_loss"]
    assert default_metrics("regression") == ["rmse", "mae", "r2"]
    with pytest.raises(ConfigError, match="Unknown task 'ranking'"):
        default_metrics("ranking")


def test_registry_declares_direction_and_score_needs():
    assert METRICS["roc_auc"].greater_is_better and METRICS["roc_auc"].needs_score
    assert not METRICS["log_loss"].greater_is_better
    assert not METRICS["rmse"].greater_is_better and METRICS["rmse"].task == "regression"
    assert not METRICS["accuracy"].needs_score


def test_check_metric_names_suggests_the_nearest():
    with pytest.raises(ConfigError) as info:
        check_metric_names("classification", ["accuracy", "roc_acu"], "shipyard.yaml: metrics")
    assert str(info.value).startswith(
        "shipyard.yaml: metrics: unknown metric 'roc_acu' for a classification task. "
        "Did you mean 'roc_auc'? Valid metrics: accuracy, average_precision, brier,"
    )


def test_check_metric_names_explains_a_metric_of_the_other_task():
    check_metric_names("regression", ["mae", "r2"], "x")
    with pytest.raises(ConfigError, match="'rmse' is a regression metric. Valid metrics: accuracy,"):
        check_metric_names("classification", ["rmse"], "x")
    with pytest.raises(ConfigError, match="'accuracy' is a classification metric"):
        check_metric_names("regression", ["accuracy"], "x")


def test_compute_metrics_rejects_unknown_names(make_regression):
    y, out = make_regression(0)
    with pytest.raises(ConfigError, match="unknown metric 'rsme'.*Did you mean 'rmse'"):
        compute_metrics("regression", y, out, ["rsme"])
