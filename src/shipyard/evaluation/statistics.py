"""Paired bootstrap of the difference between two models' metric on the same rows.

Each resample draws row indices with replacement and scores BOTH models on the
same rows, so the noise shared by the two models cancels. A resample is held as
a row of weights (how many times each row was drawn): every built-in metric is
then a weighted sum, computed for a whole block of resamples at once with NumPy.
The values equal scikit-learn's on the resampled rows.

Above `_LITTLE_ABOVE` row-resamples (1M rows x 1,000 resamples is 10^9) a vectorised
metric switches to the Bag of Little Bootstraps (Kleiner, Talwalkar, Sarkar & Jordan
2014): each of `_SUBSETS` random subsets of `b = n ** 0.6` distinct rows is resampled
to full size `n` with multinomial weights, which costs `b` rather than `n` per resample,
and each subset's differences are recentred on the full data's estimate before pooling.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from shipyard.errors import ConfigError
from shipyard.evaluation.metrics import METRICS, Metric, class_labels
from shipyard.evaluation.outputs import ModelOutputs

_BLOCK_CELLS = 2_000_000  # rows x resamples per block: ~16 MB per weight matrix
_LITTLE_ABOVE = 50_000_000  # rows x resamples above which the Bag of Little Bootstraps runs
_SUBSETS = 10
_SUBSET_EXPONENT = 0.6

Weighted = Callable[[np.ndarray, ModelOutputs, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class BootstrapResult:
    """Percentile interval of `candidate - baseline` in the metric's own units.

    `low` and `high` bound the two-sided `confidence` interval of the difference
    over the `n_resamples - n_dropped` resamples on which the metric was defined.
    """

    metric: str
    candidate_value: float
    baseline_value: float
    observed_difference: float
    low: float
    high: float
    confidence: float
    n_resamples: int
    n_dropped: int


def resample_blocks(n_rows: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Row indices of each resample, one row per resample, yielded in blocks to bound memory.

    The blocks concatenate to ``default_rng(seed).integers(0, n_rows, (n_resamples, n_rows))``.
    """
    rng = np.random.default_rng(seed)
    block = max(1, _BLOCK_CELLS // n_rows)
    for start in range(0, n_resamples, block):
        yield rng.integers(0, n_rows, size=(min(block, n_resamples - start), n_rows))


def _weights(indices: np.ndarray) -> np.ndarray:
    """How many times each row appears in each resample: shape (rows, resamples)."""
    resamples, n = indices.shape
    flat = (indices * resamples + np.arange(resamples)[:, None]).ravel()
    return np.bincount(flat, minlength=n * resamples).reshape(n, resamples).astype(float)


def _ratio(num: np.ndarray, den: np.ndarray, empty: float) -> np.ndarray:
    return np.divide(num, den, out=np.full(np.shape(num), empty), where=den > 0)


def _codes(y: np.ndarray, out: ModelOutputs) -> tuple[int, np.ndarray, np.ndarray]:
    labels = pd.Index(class_labels(y, out))
    return len(labels), labels.get_indexer(y), labels.get_indexer(out.y_pred)


def _set_wise(kind: str) -> Weighted:
    """Precision, recall or F1 from per-class weighted confusion counts."""

    def fn(y: np.ndarray, out: ModelOutputs, w: np.ndarray) -> np.ndarray:
        k, t, p = _codes(y, out)
        eye = np.eye(k)
        true, pred = eye[t].T @ w, eye[p].T @ w
        tp = (eye[t] * (t == p)[:, None]).T @ w
        fractions = {"precision": (tp, pred), "recall": (tp, true), "f1": (2 * tp, true + pred)}
        per_class = _ratio(*fractions[kind], 0.0)
        if k <= 2:
            return per_class[-1]
        present = (true + pred) > 0
        return (per_class * present).sum(0) / present.sum(0)

    return fn


def _accuracy(y: np.ndarray, out: ModelOutputs, w: np.ndarray) -> np.ndarray:
    return (y == out.y_pred).astype(float) @ w / w.sum(0)


def _levels(
    positive: np.ndarray, score: np.ndarray, w: np.ndarray, descending: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Weights of positives and of negatives per distinct score, in score order."""
    order = np.argsort(-score if descending else score)  # ties merge into one level below
    ranked = score[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    ordered = w[order]
    positives = ordered * positive[order][:, None]
    if len(starts) < len(score):  # tied scores form one level
        ordered = np.add.reduceat(ordered, starts, axis=0)
        positives = np.add.reduceat(positives, starts, axis=0)
    return positives, ordered - positives


def _binary_auc(positive: np.ndarray, score: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC: pairs ranked right count 1, tied pairs count half."""
    w1, w0 = _levels(positive, score, w, descending=False)
    below = np.cumsum(w0, axis=0) - w0
    return _ratio((w1 * (below + 0.5 * w0)).sum(0), w1.sum(0) * w0.sum(0), math.nan)


def _binary_average_precision(positive: np.ndarray, score: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Sum over score thresholds (descending) of recall gained times precision there."""
    w1, w0 = _levels(positive, score, w, descending=True)
    tp = np.cumsum(w1, axis=0)
    precision = _ratio(tp, tp + np.cumsum(w0, axis=0), 0.0)
    return _ratio((w1 * precision).sum(0), w1.sum(0), math.nan)


def _one_vs_rest(binary: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]) -> Weighted:
    def fn(y: np.ndarray, out: ModelOutputs, w: np.ndarray) -> np.ndarray:
        k, t, _ = _codes(y, out)
        scores = np.asarray(out.y_score, dtype=float)
        if k <= 2:
            return binary(t == k - 1, scores[:, -1], w)
        values = np.stack([binary(t == c, scores[:, c], w) for c in range(scores.shape[1])])
        defined = ~np.isnan(values)
        return _ratio(np.where(defined, values, 0.0).sum(0), defined.sum(0), math.nan)

    return fn


def _log_loss(y: np.ndarray, out: ModelOutputs, w: np.ndarray) -> np.ndarray:
    _, t, _ = _codes(y, out)
    scores = np.asarray(out.y_score, dtype=float)
    eps = np.finfo(scores.dtype).eps
    picked = np.clip(scores[np.arange(len(y)), t], eps, 1 - eps)
    return -np.log(picked) @ w / w.sum(0)


def _brier(y: np.ndarray, out: ModelOutputs, w: np.ndarray) -> np.ndarray:
    k, t, _ = _codes(y, out)
    scores = np.asarray(out.y_score, dtype=float)
    if k <= 2:
        rows = (scores[:, -1] - (t == k - 1)) ** 2
    else:
        rows = ((scores - np.eye(scores.shape[1])[t]) ** 2).sum(1)
    return rows @ w / w.sum(0)


def _errors(y: np.ndarray, out: ModelOutputs) -> np.ndarray:
    return np.asarray(out.y_pred, dtype=float) - np.asarray(y, dtype=float)


def _rmse(y: np.ndarray, out: ModelOutputs, w: np.ndarray) -> np.ndarray:
    return np.sqrt(_errors(y, out) ** 2 @ w / w.sum(0))


def _mae(y: np.ndarray, out: ModelOutputs, w: np.ndarray) -> np.ndarray:
    return np.abs(_errors(y, out)) @ w / w.sum(0)


def _r2(y: np.ndarray, out: ModelOutputs, w: np.ndarray) -> np.ndarray:
    if len(y) < 2:
        return np.full(w.shape[1], math.nan)
    centred = np.asarray(y, dtype=float) - np.mean(y)
    total = centred**2 @ w - (centred @ w) ** 2 / w.sum(0)
    residual = _errors(y, out) ** 2 @ w
    # scikit-learn's force_finite: constant targets score 1 if predicted exactly, else 0
    constant = np.where(residual == 0, 1.0, 0.0)
    return np.where(total > 0, 1 - _ratio(residual, total, 0.0), constant)


_WEIGHTED: dict[str, Weighted] = {
    "accuracy": _accuracy,
    "f1": _set_wise("f1"),
    "precision": _set_wise("precision"),
    "recall": _set_wise("recall"),
    "roc_auc": _one_vs_rest(_binary_auc),
    "average_precision": _one_vs_rest(_binary_average_precision),
    "log_loss": _log_loss,
    "brier": _brier,
    "rmse": _rmse,
    "mae": _mae,
    "r2": _r2,
}


def _resampled_differences(
    metric: Metric,
    y: np.ndarray,
    candidate: ModelOutputs,
    baseline: ModelOutputs,
    indices: np.ndarray,
) -> np.ndarray:
    """`metric(candidate) - metric(baseline)` on each resample (rows of `indices`)."""
    if metric.needs_score and (candidate.y_score is None or baseline.y_score is None):
        return np.full(len(indices), math.nan)
    if _vectorised(metric):
        w = _weights(indices)
        weighted = _WEIGHTED[metric.name]
        return weighted(y, candidate, w) - weighted(y, baseline, w)
    # a metric registered by the user has no vectorised form: score each resample
    return np.array(
        [metric(y[rows], _take(candidate, rows)) - metric(y[rows], _take(baseline, rows)) for rows in indices]
    )


def _vectorised(metric: Metric) -> bool:
    return metric.name in _WEIGHTED and METRICS.get(metric.name) is metric


def _little_bootstraps(
    metric: Metric,
    y: np.ndarray,
    candidate: ModelOutputs,
    baseline: ModelOutputs,
    n_resamples: int,
    seed: int,
    observed: float | None,
) -> np.ndarray:
    """Differences from the Bag of Little Bootstraps, recentred on the full data's difference."""
    n = len(y)
    size = math.ceil(n**_SUBSET_EXPONENT)
    rng = np.random.default_rng(seed)
    weighted = _WEIGHTED[metric.name]
    full: float | np.ndarray
    if observed is None:
        ones = np.ones((n, 1))
        full = weighted(y, candidate, ones) - weighted(y, baseline, ones)
    else:
        full = observed
    pooled = []
    for share in np.array_split(np.arange(n_resamples), min(_SUBSETS, n_resamples)):
        rows = np.sort(rng.choice(n, size=size, replace=False))
        ys, cs, bs = y[rows], _take(candidate, rows), _take(baseline, rows)
        local = weighted(ys, cs, np.ones((size, 1))) - weighted(ys, bs, np.ones((size, 1)))
        w = rng.multinomial(n, np.full(size, 1 / size), size=len(share)).T.astype(float)
        pooled.append(weighted(ys, cs, w) - weighted(ys, bs, w) - local + full)
    return np.concatenate(pooled)


def _take(out: ModelOutputs, rows: np.ndarray) -> ModelOutputs:
    return ModelOutputs(
        y_pred=np.asarray(out.y_pred)[rows],
        y_score=None if out.y_score is None else np.asarray(out.y_score)[rows],
        classes=out.classes,
    )


def _check_inputs(y: np.ndarray, candidate: ModelOutputs, baseline: ModelOutputs, n_resamples: int) -> None:
    lengths = {len(y), len(candidate.y_pred), len(baseline.y_pred)}
    if len(lengths) != 1 or len(y) == 0:
        raise ConfigError(
            f"paired_bootstrap needs y_true and both models' predictions on the same non-empty "
            f"rows; got {len(y)} labels, {len(candidate.y_pred)} candidate and "
            f"{len(baseline.y_pred)} baseline predictions. Predict both models on the test split."
        )
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise ConfigError(
            f"paired_bootstrap: 'n_resamples' must be an int >= 1. Got {n_resamples!r} instead."
        )


def bootstrap_differences(
    metric: Metric,
    y_true: np.ndarray,
    candidate: ModelOutputs,
    baseline: ModelOutputs,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    observed: float | None = None,
) -> np.ndarray:
    """`metric(candidate) - metric(baseline)` on each of `n_resamples` paired resamples.

    A resample on which the metric is undefined for either model gives `nan`. `observed`,
    the difference on all rows when the caller has it, spares recomputing it on large data.
    """
    y = np.asarray(y_true)
    _check_inputs(y, candidate, baseline, n_resamples)
    if metric.needs_score and (candidate.y_score is None or baseline.y_score is None):
        return np.full(n_resamples, math.nan)
    if _vectorised(metric) and len(y) * n_resamples > _LITTLE_ABOVE:
        return _little_bootstraps(metric, y, candidate, baseline, n_resamples, seed, observed)
    return np.concatenate(
        [
            _resampled_differences(metric, y, candidate, baseline, rows)
            for rows in resample_blocks(len(y), n_resamples, seed)
        ]
    )


def paired_bootstrap(
    metric: Metric,
    y_true: np.ndarray,
    candidate: ModelOutputs,
    baseline: ModelOutputs,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapResult:
    """Two-sided percentile interval of `metric(candidate) - metric(baseline)`.

    Both models are scored on the same resampled rows. Resamples on which the
    metric is undefined for either model (e.g. one class only) are dropped and
    counted in `n_dropped`; when all are dropped the bounds are `nan`.
    """
    y = np.asarray(y_true)
    _check_inputs(y, candidate, baseline, n_resamples)
    if not 0 < confidence < 1:
        raise ConfigError(
            f"paired_bootstrap: 'confidence' must be a float in (0, 1). Got {confidence!r} instead."
        )
    differences = bootstrap_differences(metric, y, candidate, baseline, n_resamples=n_resamples, seed=seed)
    kept = differences[~np.isnan(differences)]
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(kept, [tail, 100 - tail]) if len(kept) else (math.nan, math.nan)
    candidate_value, baseline_value = metric(y, candidate), metric(y, baseline)
    return BootstrapResult(
        metric=metric.name,
        candidate_value=candidate_value,
        baseline_value=baseline_value,
        observed_difference=candidate_value - baseline_value,
        low=float(low),
        high=float(high),
        confidence=confidence,
        n_resamples=n_resamples,
        n_dropped=int(len(differences) - len(kept)),
    )
