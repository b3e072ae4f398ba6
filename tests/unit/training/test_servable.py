"""`Servable`: raw rows -> features -> estimator, on real scikit-learn models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression, RidgeClassifier

from shipyard.errors import ConfigError, StageError
from shipyard.training.packaging import Servable


def features(df: pd.DataFrame) -> pd.DataFrame:
    """Row-wise features; fails loudly if the target leaks in."""
    if "label" in df.columns:
        raise KeyError("the target must not reach the features function")
    return pd.DataFrame({"x2": df["x"] * 2.0, "z": np.log1p(df["size"].abs())}, index=df.index)


class CountingLogisticRegression(LogisticRegression):
    """Counts calls, to check one estimator call per batch."""

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        self.proba_calls_ = getattr(self, "proba_calls_", 0) + 1
        return super().predict_proba(X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        raise AssertionError("predict must not be called when predict_proba exists")


def _raw(seed: int, n: int = 60, labels: tuple = ("ham", "spam", "eggs")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": x,
            "size": rng.normal(size=n),
            "label": np.array(labels)[np.digitize(x, [-0.4, 0.4]) % len(labels)],
        },
        index=pd.RangeIndex(100, 100 + n),
    )


def _classifier(raw: pd.DataFrame, cls: type = LogisticRegression) -> Servable:
    estimator = cls().fit(features(raw.drop(columns="label")), raw["label"])
    return Servable(estimator=estimator, features=features, task="classification", target="label")


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_classifier_frame_has_prediction_and_one_probability_per_class(seed: int) -> None:
    raw = _raw(seed)
    servable = _classifier(raw)
    frame = servable.predict_frame(raw)
    estimator = servable.estimator
    assert list(frame.columns) == ["prediction", "proba_eggs", "proba_ham", "proba_spam"]
    assert frame.index.equals(raw.index)
    X = features(raw.drop(columns="label"))
    np.testing.assert_allclose(frame.iloc[:, 1:].to_numpy(), estimator.predict_proba(X), atol=1e-12)
    np.testing.assert_array_equal(frame["prediction"].to_numpy(), estimator.predict(X))
    pd.testing.assert_frame_equal(frame, servable.predict_frame(raw.drop(columns="label")))


def test_classes_come_from_the_estimator_and_integer_labels_keep_their_type() -> None:
    raw = _raw(0, labels=(3, 1, 2))
    servable = _classifier(raw)
    assert servable.classes == (1, 2, 3)
    frame = servable.predict_frame(raw)
    assert list(frame.columns) == ["prediction", "proba_1", "proba_2", "proba_3"]
    assert frame["prediction"].dtype == raw["label"].dtype


def test_outputs_match_the_frame() -> None:
    raw = _raw(5)
    servable = _classifier(raw)
    outputs = servable.outputs(raw)
    frame = servable.predict_frame(raw)
    assert outputs.classes == ("eggs", "ham", "spam")
    assert outputs.y_score is not None and outputs.y_score.shape == (len(raw), 3)
    np.testing.assert_array_equal(outputs.y_pred, frame["prediction"].to_numpy())
    np.testing.assert_allclose(outputs.y_score, frame.iloc[:, 1:].to_numpy())
    np.testing.assert_allclose(outputs.y_score.sum(axis=1), 1.0)


def test_one_predict_proba_call_per_batch() -> None:
    raw = _raw(0)
    servable = _classifier(raw, CountingLogisticRegression)
    servable.predict_frame(raw)
    servable.outputs(raw.iloc[:1])
    assert servable.estimator.proba_calls_ == 2


def test_classifier_without_predict_proba_has_predictions_only() -> None:
    raw = _raw(0)
    servable = _classifier(raw, RidgeClassifier)
    assert list(servable.predict_frame(raw).columns) == ["prediction"]
    outputs = servable.outputs(raw)
    assert outputs.y_score is None and outputs.classes == ("eggs", "ham", "spam")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regressor_with_features(seed: int) -> None:
    raw = _raw(seed).assign(label=lambda d: 3 * d["x"] - d["size"])
    X = features(raw.drop(columns="label"))
    estimator = LinearRegression().fit(X, raw["label"])
    servable = Servable(estimator=estimator, features=features, task="regression", target="label")
    frame = servable.predict_frame(raw)
    assert list(frame.columns) == ["prediction"]
    np.testing.assert_allclose(frame["prediction"], estimator.predict(X))
    outputs = servable.outputs(raw)
    assert outputs.y_score is None and outputs.classes == ()


def test_without_features_the_estimator_sees_the_raw_columns_minus_the_target() -> None:
    raw = _raw(0).assign(label=lambda d: d["x"] + 1)
    estimator = LinearRegression().fit(raw[["x", "size"]], raw["label"])
    servable = Servable(estimator=estimator, features=None, task="regression", target="label")
    assert list(servable.transform(raw).columns) == ["x", "size"]
    np.testing.assert_allclose(servable.predict_frame(raw)["prediction"], raw["label"])


def test_a_failing_features_function_is_a_user_stage_error() -> None:
    raw = _raw(0)
    servable = _classifier(raw)
    with pytest.raises(StageError) as info:
        servable.predict_frame(raw.drop(columns="size"))
    assert info.value.stage == "features" and info.value.user_code
    assert "KeyError: 'size'" in str(info.value)


@pytest.mark.parametrize(
    ("bad_features", "got"),
    [(lambda df: df.iloc[:-1], "59 rows"), (lambda df: df.to_numpy(), "ndarray")],
)
def test_features_must_return_one_row_per_input_row(bad_features: object, got: str) -> None:
    raw = _raw(0)
    estimator = _classifier(raw).estimator
    servable = Servable(estimator=estimator, features=bad_features, task="classification", target="label")
    with pytest.raises(ConfigError, match=rf"one row per input row \(60\), got {got}\."):
        servable.predict_frame(raw)


def test_features_that_reorder_rows_are_refused() -> None:
    raw = _raw(0)
    estimator = _classifier(raw).estimator
    servable = Servable(
        estimator=estimator,
        features=lambda df: features(df).sort_values(features(df).columns[0]),
        task="classification",
        target="label",
    )
    with pytest.raises(ConfigError, match="returned the input rows in another order"):
        servable.predict_frame(raw)


def test_given_classes_must_match_the_estimator() -> None:
    estimator = _classifier(_raw(0)).estimator
    with pytest.raises(ConfigError, match=r"differ from the estimator's classes_"):
        Servable(estimator, features, "classification", "label", classes=("spam", "ham", "eggs"))


def test_unknown_task_is_rejected() -> None:
    with pytest.raises(ConfigError, match="Got 'ranking' instead"):
        Servable(LinearRegression(), None, "ranking", "label")
