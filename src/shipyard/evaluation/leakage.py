"""How well one feature alone predicts the target: the signature of target leakage.

A numeric feature is scored as it is (its ROC AUC in the better of both
directions, or its R² for regression, the squared correlation). A categorical
feature is replaced by its target rate (mean target for regression) per category,
fitted on the training rows and scored on the test rows, so an identifier with
a new value in every row scores as chance instead of perfect.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd


def _numeric(values: pd.Series) -> np.ndarray | None:
    """Values as floats for ranking (dates as their instant), or None for a categorical column."""
    if pd.api.types.is_bool_dtype(values) or not (
        pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)
    ):
        return None
    if pd.api.types.is_datetime64_any_dtype(values):
        out, present = np.full(len(values), np.nan), values.notna().to_numpy()
        out[present] = values[present].astype("int64").to_numpy(dtype=float)
        return out
    return values.astype(float).to_numpy()


def _encode(train: pd.Series, y_train: np.ndarray, test: pd.Series) -> np.ndarray:
    """Each test value's mean target among training rows with that value; the overall mean if unseen."""
    keys_train = train.astype(object).where(train.notna(), "<missing>").astype(str)
    keys_test = test.astype(object).where(test.notna(), "<missing>").astype(str)
    means = pd.Series(y_train, index=keys_train.index).groupby(keys_train.to_numpy()).mean()
    return keys_test.map(means).fillna(float(np.mean(y_train))).to_numpy(dtype=float)


def _auc(positive: np.ndarray, score: np.ndarray, both_directions: bool) -> float:
    """ROC AUC as the Mann-Whitney statistic of average ranks (ties count a half)."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    # a missing value ranks below every present one: missingness itself may leak
    filled = np.where(np.isnan(score), np.nanmin(score) - 1 if np.isfinite(score).any() else 0.0, score)
    ranks = pd.Series(filled).rank(method="average").to_numpy()
    auc = float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    return max(auc, 1 - auc) if both_directions else auc


def _r2(y: np.ndarray, pred: np.ndarray, fitted: bool) -> float:
    keep = ~np.isnan(pred)
    y, pred = y[keep], pred[keep]
    if len(y) < 3 or np.std(y) == 0 or np.std(pred) == 0:
        return math.nan
    if fitted:  # the encoding is a prediction of y already
        return float(1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))
    return float(np.corrcoef(pred, y)[0, 1] ** 2)


def single_feature_score(
    train: pd.Series,
    y_train: np.ndarray,
    test: pd.Series,
    y_test: np.ndarray,
    *,
    task: str,
    classes: Sequence[object] = (),
) -> float:
    """ROC AUC (classification) or R² (regression) of `test` alone as a predictor of `y_test`.

    Multiclass: the mean one-vs-rest AUC over `classes` (a feature that separates one
    class of several, like iris petal length, is a strong feature, not a leak).
    `nan` when undefined (constant feature or target).
    """
    numeric = _numeric(test)
    if task == "regression":
        y_test = np.asarray(y_test, dtype=float)
        if numeric is not None:
            return _r2(y_test, numeric, fitted=False)
        return _r2(y_test, _encode(train, np.asarray(y_train, dtype=float), test), fitted=True)
    y_test, y_train = np.asarray(y_test, dtype=object), np.asarray(y_train, dtype=object)
    targets = list(classes)[-1:] if len(classes) == 2 else list(classes)
    scores = []
    for cls in targets:
        positive = y_test == cls
        if numeric is not None:
            scores.append(_auc(positive, numeric, both_directions=True))
        else:
            encoded = _encode(train, (y_train == cls).astype(float), test)
            scores.append(_auc(positive, encoded, both_directions=False))
    defined = [s for s in scores if not math.isnan(s)]
    return float(np.mean(defined)) if defined else math.nan
