"""`Servable`: features + estimator as one object, so evaluation and serving run the same code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from shipyard.core.tasks import TASKS
from shipyard.errors import ConfigError
from shipyard.evaluation.outputs import ModelOutputs
from shipyard.training.fitting import apply_features, call_user


@dataclass(frozen=True)
class Servable:
    """Turns raw rows into predictions: drop the target, apply `features`, call the estimator.

    `classes` defaults to the estimator's `classes_` (classification) and must match
    it when given: probability columns follow that order.
    """

    estimator: Any
    features: Callable[[pd.DataFrame], pd.DataFrame] | None
    task: str
    target: str
    classes: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"The task must be one of {list(TASKS)}. Got {self.task!r} instead.")
        fitted = tuple(getattr(self.estimator, "classes_", ()))
        if self.task == "classification" and not self.classes:
            object.__setattr__(self, "classes", fitted)
        elif fitted and list(self.classes) != list(fitted):
            raise ConfigError(
                f"Servable classes {list(self.classes)} differ from the estimator's classes_ "
                f"{list(fitted)}. Leave 'classes' empty to take them from the estimator."
            )

    @cached_property
    def _labels(self) -> np.ndarray:
        return np.asarray(getattr(self.estimator, "classes_", self.classes))

    @cached_property
    def _has_proba(self) -> bool:
        return self.task == "classification" and callable(getattr(self.estimator, "predict_proba", None))

    def transform(self, raw: pd.DataFrame) -> pd.DataFrame:
        """Model inputs for `raw` rows: the target column dropped, then the features function."""
        inputs = raw.drop(columns=[self.target]) if self.target in raw.columns else raw
        return inputs if self.features is None else apply_features(self.features, inputs)

    def _predict(self, raw: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """Labels or values, and class probabilities; one estimator call per batch."""
        X = self.transform(raw)
        if self._has_proba:
            proba = np.asarray(call_user(self.estimator.predict_proba, X, stage="predict"))
            return self._labels[proba.argmax(axis=1)], proba
        return np.asarray(call_user(self.estimator.predict, X, stage="predict")), None

    def predict_frame(self, raw: pd.DataFrame) -> pd.DataFrame:
        """`prediction`, plus `proba_<class>` per class for classifiers with `predict_proba`."""
        pred, proba = self._predict(raw)
        columns: dict[str, Any] = {"prediction": pred}
        if proba is not None:
            columns.update({f"proba_{c}": proba[:, i] for i, c in enumerate(self._labels)})
        return pd.DataFrame(columns, index=raw.index)

    def outputs(self, raw: pd.DataFrame) -> ModelOutputs:
        """Predictions in the shape every metric and gate reads."""
        pred, proba = self._predict(raw)
        return ModelOutputs(y_pred=pred, y_score=proba, classes=tuple(self.classes))

    def outputs_from_frame(self, frame: pd.DataFrame) -> ModelOutputs:
        """Read back a `predict_frame`-shaped result (e.g. from the MLflow pyfunc or the server)."""
        columns = [f"proba_{c}" for c in self._labels]
        has_proba = self._has_proba and all(c in frame.columns for c in columns)
        score = frame[columns].to_numpy(dtype=float) if has_proba else None
        return ModelOutputs(frame["prediction"].to_numpy(), score, tuple(self.classes))
