"""What a model produced on a data set, in the one shape every metric and gate reads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ModelOutputs:
    """Predictions of one model on one data set.

    `y_pred` holds predicted labels (classification) or values (regression).
    `y_score` holds, for classification, the probability of each class with
    shape (n, n_classes) and columns in the order of `classes`; None for regression.
    """

    y_pred: np.ndarray
    y_score: np.ndarray | None = None
    classes: tuple[object, ...] = ()
