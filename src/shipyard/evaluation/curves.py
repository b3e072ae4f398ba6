"""Compact curve data for reports: ROC and precision-recall points, calibration bins, histograms.

Pure functions of arrays returning small JSON-ready dicts (lists of floats rounded
to 5 decimals, at most `max_points` points per curve), so a report can plot a model
without its outputs. Binary tasks use the model's last class as the positive one,
as the metrics do; multiclass tasks use the micro-averaged one-vs-rest view for
ROC and PR, and the top-label confidence for calibration.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shipyard.evaluation.outputs import ModelOutputs

MAX_POINTS = 200
DIGITS = 5


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), DIGITS) for v in values]


def _thin(n: int, max_points: int) -> np.ndarray:
    """At most `max_points` indices of 0..n-1, evenly spread, first and last kept."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(int))


def _cumulative(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives when thresholding at each distinct score, highest first."""
    order = np.argsort(-score, kind="stable")
    score, y = score[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    tps = np.cumsum(y)[last_of_tie]
    return tps, (last_of_tie + 1) - tps


def roc_points(y: np.ndarray, score: np.ndarray, *, max_points: int = MAX_POINTS) -> dict[str, Any] | None:
    """False and true positive rates from (0, 0) to (1, 1); None without both classes in `y`.

    >>> roc_points(np.array([0, 1]), np.array([0.2, 0.8]))
    {'fpr': [0.0, 0.0, 1.0], 'tpr': [0.0, 1.0, 1.0]}
    """
    y = np.asarray(y, dtype=bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return None
    tps, fps = _cumulative(y, np.asarray(score, dtype=float))
    tpr, fpr = np.r_[0.0, tps / positives], np.r_[0.0, fps / negatives]
    keep = _thin(len(tpr), max_points)
    return {"fpr": _rounded(fpr[keep]), "tpr": _rounded(tpr[keep])}


def pr_points(y: np.ndarray, score: np.ndarray, *, max_points: int = MAX_POINTS) -> dict[str, Any] | None:
    """Recall and precision at each threshold, plus the positive rate (a random model's
    precision); None when `y` has no positive.

    >>> pr_points(np.array([0, 1]), np.array([0.2, 0.8]))
    {'recall': [1.0, 1.0], 'precision': [1.0, 0.5], 'prevalence': 0.5}
    """
    y = np.asarray(y, dtype=bool)
    positives = int(y.sum())
    if positives == 0:
        return None
    tps, fps = _cumulative(y, np.asarray(score, dtype=float))
    recall, precision = tps / positives, tps / (tps + fps)
    keep = _thin(len(recall), max_points)
    return {
        "recall": _rounded(recall[keep]),
        "precision": _rounded(precision[keep]),
        "prevalence": round(positives / len(y), DIGITS),
    }


def calibration_bins(y: np.ndarray, prob: np.ndarray, *, n_bins: int = 10) -> dict[str, Any] | None:
    """Mean predicted probability against the observed positive rate in equal-width bins
    of [0, 1] (empty bins left out); None on no rows.

    >>> calibration_bins(np.array([0, 1, 1]), np.array([0.1, 0.9, 0.95]), n_bins=2)
    {'mean_predicted': [0.1, 0.925], 'fraction_positive': [0.0, 1.0], 'count': [1, 2]}
    """
    y = np.asarray(y, dtype=float)
    prob = np.clip(np.asarray(prob, dtype=float), 0.0, 1.0)
    if len(prob) == 0:
        return None
    index = np.minimum((prob * n_bins).astype(int), n_bins - 1)
    count = np.bincount(index, minlength=n_bins)
    present = count > 0
    mean = np.bincount(index, weights=prob, minlength=n_bins)[present] / count[present]
    rate = np.bincount(index, weights=y, minlength=n_bins)[present] / count[present]
    return {
        "mean_predicted": _rounded(mean),
        "fraction_positive": _rounded(rate),
        "count": [int(c) for c in count[present]],
    }


def histogram(values: np.ndarray, *, bins: int = 24, log: bool = False) -> dict[str, Any] | None:
    """Bin edges and counts of the finite `values`; log-spaced edges when `log` (positive
    values only, e.g. latencies); None when nothing is left to bin.

    >>> histogram(np.array([1.0, 2.0, 2.0, 3.0]), bins=2)
    {'edges': [1.0, 2.0, 3.0], 'counts': [1, 3], 'log': False}
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & ((values > 0) if log else True)]
    if len(values) == 0:
        return None
    low, high = float(values.min()), float(values.max())
    if high <= low:
        high = low * 1.01 + 1e-9 if log else low + 1.0
    edges = np.geomspace(low, high, bins + 1) if log else np.linspace(low, high, bins + 1)
    counts, _ = np.histogram(values, bins=edges)
    return {"edges": [float(f"{e:.6g}") for e in edges], "counts": [int(c) for c in counts], "log": log}


def _binary_view(y_true: np.ndarray, outputs: ModelOutputs) -> tuple[np.ndarray, np.ndarray, str]:
    """(is positive, score) pairs: the last class when binary, micro one-vs-rest otherwise."""
    classes = list(outputs.classes)
    score = np.asarray(outputs.y_score, dtype=float)
    labels = np.asarray(y_true).astype(str)
    names = np.asarray([str(c) for c in classes])
    if len(classes) == 2:
        return labels == names[-1], score[:, -1], f"{classes[-1]}"
    onehot = labels[:, None] == names[None, :]
    return onehot.ravel(), score.ravel(), "micro-average over classes"


def curve_data(task: str, y_true: np.ndarray, outputs: ModelOutputs) -> dict[str, Any]:
    """Everything a report plots about one model's outputs on the test rows.

    Classifiers with probabilities: `roc`, `pr`, `calibration` and `positive` (what counts
    as positive). Regression, or classifiers without probabilities: `residuals`
    (histogram of prediction - truth) for regression, nothing otherwise.
    """
    if task != "classification":
        residuals = np.asarray(outputs.y_pred, dtype=float) - np.asarray(y_true, dtype=float)
        return {"residuals": histogram(residuals)}
    if outputs.y_score is None or len(outputs.classes) < 2:
        return {}
    probs = np.asarray(outputs.y_score, dtype=float)
    if not (np.isfinite(probs).all() and probs.min(initial=0) >= 0 and probs.max(initial=0) <= 1):
        return {}  # broken probabilities: the output contract gate reports them, there is nothing to plot
    positive, score, name = _binary_view(y_true, outputs)
    if len(outputs.classes) == 2:
        calibration = calibration_bins(positive, score)
    else:
        top = probs.argmax(axis=1)
        correct = np.asarray(y_true).astype(str) == np.asarray([str(c) for c in outputs.classes])[top]
        calibration = calibration_bins(correct, probs.max(axis=1))
    return {
        "positive": name,
        "roc": roc_points(positive, score),
        "pr": pr_points(positive, score),
        "calibration": calibration,
    }
