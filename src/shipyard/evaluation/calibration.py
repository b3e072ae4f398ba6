"""Calibration as pure functions: reliability bins and the expected calibration error (ECE).

A model is calibrated when, among rows scored about p, a share p is positive.
Rows are grouped into bins of the predicted probability, either of equal width
on [0, 1] (`uniform`, scikit-learn's `calibration_curve` default) or holding
equal numbers of rows (`quantile`, better when scores crowd near 0). The ECE is
the row-weighted mean gap between a bin's mean predicted probability and its
observed positive rate:

    ECE = sum_b (n_b / n) * |observed_b - predicted_b|

For more than two classes the top-label version is used: the probability of the
predicted class against whether the prediction was right.

Examples
--------
>>> import numpy as np
>>> bins = reliability_bins(np.array([0, 1, 1, 1]), np.array([0.8, 0.8, 0.8, 0.8]), n_bins=10)
>>> [(b.predicted, b.observed, b.count) for b in bins]
[(0.8, 0.75, 4)]
>>> round(expected_calibration_error(bins), 4)
0.05
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from shipyard.evaluation.outputs import ModelOutputs

Binning = Literal["uniform", "quantile"]
BINNINGS: tuple[str, ...] = ("uniform", "quantile")


@dataclass(frozen=True)
class ReliabilityBin:
    """One point of a reliability curve: score range, mean score, positive rate, rows."""

    lower: float
    upper: float
    predicted: float
    observed: float
    count: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _edges(prob: np.ndarray, n_bins: int, binning: str) -> np.ndarray:
    if binning == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if binning == "quantile":
        edges = np.unique(np.quantile(prob, np.linspace(0.0, 1.0, n_bins + 1)))
        return edges if len(edges) > 1 else np.array([edges[0], edges[0]])
    raise ValueError(f"binning must be one of {BINNINGS}. Got {binning!r} instead.")


def reliability_bins(
    hit: np.ndarray, prob: np.ndarray, *, n_bins: int = 10, binning: str = "uniform"
) -> list[ReliabilityBin]:
    """The non-empty bins of `prob` (scores in [0, 1]) with the observed rate of `hit` (0/1).

    A bin holds scores in `(lower, upper]`; the first also holds its lower edge.
    """
    hit, prob = np.asarray(hit, dtype=float), np.asarray(prob, dtype=float)
    if len(prob) == 0:
        return []
    edges = _edges(prob, n_bins, binning)
    index = np.clip(np.searchsorted(edges[1:-1], prob, side="left"), 0, len(edges) - 2)
    bins = []
    for b in range(len(edges) - 1):
        mask = index == b
        if mask.any():
            bins.append(
                ReliabilityBin(
                    lower=float(edges[b]),
                    upper=float(edges[b + 1]),
                    predicted=float(prob[mask].mean()),
                    observed=float(hit[mask].mean()),
                    count=int(mask.sum()),
                )
            )
    return bins


def expected_calibration_error(bins: Sequence[ReliabilityBin]) -> float:
    """Row-weighted mean |observed - predicted| over `bins`; `nan` when there are no rows."""
    total = sum(b.count for b in bins)
    if total == 0:
        return float("nan")
    return float(sum(b.count * abs(b.observed - b.predicted) for b in bins) / total)


def calibration_target(y_true: np.ndarray, outputs: ModelOutputs) -> tuple[np.ndarray, np.ndarray]:
    """`(hit, prob)` to bin: the positive (last) class when binary, else the top label.

    Binary: `prob` is the last class's probability, `hit` whether the label is that
    class. Multiclass: `prob` is the highest probability, `hit` whether the label is
    the class it belongs to.
    """
    if outputs.y_score is None:
        raise ValueError("calibration needs class probabilities; the model gave none (no predict_proba)")
    scores = np.asarray(outputs.y_score, dtype=float)
    classes = np.asarray(outputs.classes, dtype=object)
    y = np.asarray(y_true, dtype=object)
    if scores.shape[1] == 2:
        return (y == classes[-1]).astype(float), scores[:, -1]
    top = scores.argmax(axis=1)
    return (y == classes[top]).astype(float), scores[np.arange(len(scores)), top]
