"""Calling user code: failures name the user's frame; `fit` seeds and checks its result."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipyard.errors import ConfigError, StageError
from shipyard.training.entrypoints import load_entrypoint
from shipyard.training.fitting import call_user, fit

USER_CODE = {
    "fpkg/__init__.py": "",
    "fpkg/train.py": """
        import random

        import numpy as np
        from sklearn.linear_model import LinearRegression, LogisticRegression
        from sklearn.svm import LinearSVC


        def boom(X, y, params):
            raise ValueError("boom")


        def bad_sklearn_input(X, y, params):
            return LogisticRegression().fit(X, y[:1])


        def returns(X, y, params):
            return params["value"]


        def unfitted(X, y, params):
            return LogisticRegression()


        def no_proba(X, y, params):
            return LinearSVC().fit(X, y)


        def regressor(X, y, params):
            return LinearRegression().fit(X, y)


        def random_draws(X, y, params):
            model = LinearRegression().fit(X, y)
            model.draws_ = (random.random(), float(np.random.rand()))
            return model


        def mutates(X, y, params):
            params["added"] = True
            return LinearRegression().fit(X, y)
    """,
}


@pytest.fixture
def load(tmp_path: Path, make_project: Callable[..., Path]) -> Callable[[str], Callable]:
    root = make_project(tmp_path / "proj", USER_CODE)
    return lambda name: load_entrypoint(f"fpkg.train:{name}", root, key="entrypoints.train")


@pytest.fixture
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    return X, pd.Series((X["a"] > 0).astype(int), name="label")


def test_call_user_returns_the_result_and_passes_arguments() -> None:
    assert call_user(lambda a, *, b: a + b, 2, b=3, stage="train") == 5


def test_call_user_wraps_the_error_and_names_the_user_frame(
    load: Callable[[str], Callable], data: tuple[pd.DataFrame, pd.Series]
) -> None:
    with pytest.raises(StageError) as info:
        call_user(load("boom"), *data, {}, stage="train")
    error = info.value
    assert str(error) == ("Stage 'train' failed in your code: ValueError: boom (fpkg/train.py:9 in boom)")
    assert (error.stage, error.user_code) == ("train", True)
    assert isinstance(error.__cause__, ValueError)
    assert "fpkg/train.py" in error.traceback
    assert error.traceback.rstrip().endswith("ValueError: boom")
    assert "fitting.py" not in error.traceback


def test_error_inside_a_library_names_the_users_calling_line(
    load: Callable[[str], Callable], data: tuple[pd.DataFrame, pd.Series]
) -> None:
    with pytest.raises(StageError) as info:
        call_user(load("bad_sklearn_input"), *data, {}, stage="train")
    assert str(info.value).endswith("(fpkg/train.py:13 in bad_sklearn_input)")
    assert "sklearn" in info.value.traceback


def test_fit_returns_the_fitted_estimator(
    load: Callable[[str], Callable], data: tuple[pd.DataFrame, pd.Series]
) -> None:
    model = fit(load("regressor"), *data, {}, seed=0, task="regression")
    assert model.coef_.shape == (2,)


@pytest.mark.parametrize("seed", [0, 1, 7, 42, 2**31])
def test_fit_seeds_random_and_numpy(
    load: Callable[[str], Callable], data: tuple[pd.DataFrame, pd.Series], seed: int
) -> None:
    first = fit(load("random_draws"), *data, {}, seed=seed, task="regression").draws_
    again = fit(load("random_draws"), *data, {}, seed=seed, task="regression").draws_
    other = fit(load("random_draws"), *data, {}, seed=seed + 1, task="regression").draws_
    assert first == again
    assert first[0] != other[0] and first[1] != other[1]


def test_fit_passes_a_copy_of_params(
    load: Callable[[str], Callable], data: tuple[pd.DataFrame, pd.Series]
) -> None:
    params = {"alpha": 1}
    fit(load("mutates"), *data, params, seed=0, task="regression")
    assert params == {"alpha": 1}


@pytest.mark.parametrize(("value", "type_name"), [(None, "NoneType"), ("model", "str"), (3, "int")])
def test_fit_rejects_a_non_estimator(
    load: Callable[[str], Callable],
    data: tuple[pd.DataFrame, pd.Series],
    value: object,
    type_name: str,
) -> None:
    with pytest.raises(ConfigError) as info:
        fit(load("returns"), *data, {"value": value}, seed=0, task="classification")
    assert str(info.value) == (
        f"entrypoints.train returned {type_name}, not a fitted estimator: it must return an "
        "object with predict(X) (e.g. a fitted scikit-learn estimator)."
    )


def test_fit_rejects_an_unfitted_classifier(
    load: Callable[[str], Callable], data: tuple[pd.DataFrame, pd.Series]
) -> None:
    with pytest.raises(ConfigError, match="returned an unfitted LogisticRegression"):
        fit(load("unfitted"), *data, {}, seed=0, task="classification")


def test_fit_reports_a_raising_train_as_user_code(
    load: Callable[[str], Callable], data: tuple[pd.DataFrame, pd.Series]
) -> None:
    with pytest.raises(StageError) as info:
        fit(load("boom"), *data, {}, seed=0, task="classification")
    assert info.value.user_code and info.value.stage == "train"


def test_fit_accepts_a_classifier_without_predict_proba_with_a_warning(
    load: Callable[[str], Callable],
    data: tuple[pd.DataFrame, pd.Series],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="shipyard.training.fitting"):
        model = fit(load("no_proba"), *data, {}, seed=0, task="classification")
    assert list(model.classes_) == [0, 1]
    assert "LinearSVC without predict_proba" in caplog.text


def test_fit_rejects_an_unknown_task(
    load: Callable[[str], Callable], data: tuple[pd.DataFrame, pd.Series]
) -> None:
    with pytest.raises(ConfigError, match=r"task must be one of .* Got 'ranking' instead"):
        fit(load("regressor"), *data, {}, seed=0, task="ranking")
