"""Training: one-hot categoricals, numerics passed through, histogram gradient boosting."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from fraud_model.features import CATEGORICAL, NUMERIC

DEFAULTS: dict[str, Any] = {
    "max_iter": 200,
    "learning_rate": 0.1,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 100,
    "l2_regularization": 1.0,
    "class_weight": None,
    "early_stopping": False,
    "seed": 0,
}


def build_pipeline(params: dict[str, Any]) -> Pipeline:
    """The unfitted model; unknown keys in `params` raise a ValueError listing the valid ones."""
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise ValueError(
            f"The fraud model does not take the params {unknown}. Valid params: "
            f"{sorted(DEFAULTS)}. Fix 'params' in shipyard.yaml."
        )
    p = DEFAULTS | params
    encode = ColumnTransformer(
        [
            (
                "categories",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                CATEGORICAL,
            ),
            ("numbers", "passthrough", NUMERIC),
        ],
    )
    model = HistGradientBoostingClassifier(
        max_iter=p["max_iter"],
        learning_rate=p["learning_rate"],
        max_leaf_nodes=p["max_leaf_nodes"],
        min_samples_leaf=p["min_samples_leaf"],
        l2_regularization=p["l2_regularization"],
        class_weight=p["class_weight"],
        early_stopping=p["early_stopping"],
        random_state=p["seed"],
    )
    return Pipeline([("encode", encode), ("model", model)])


def train(X: pd.DataFrame, y: pd.Series, params: dict[str, Any]) -> Pipeline:
    """Fit the pipeline on features `X` (from `build_features`) and labels `y`."""
    return build_pipeline(params).fit(X, y)
