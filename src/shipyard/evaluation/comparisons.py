"""Paired tests of a candidate against production on the same rows: DeLong, McNemar, bootstrap.

Every test answers the same one-sided question, oriented so that a positive
difference means "candidate better": is the true difference above `null`? A
non-inferiority check asks it with `null = -tolerance`, a superiority check with
`null = margin`. Each returns a `ComparisonResult` with the estimate, its standard
error, a two-sided interval at `confidence` (whose lower end is the one-sided
bound at level `(1 + confidence) / 2`) and the one-sided p-value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from statistics import NormalDist

import numpy as np

from shipyard.errors import ConfigError
from shipyard.evaluation.metrics import METRICS, Metric, class_labels
from shipyard.evaluation.outputs import ModelOutputs
from shipyard.evaluation.statistics import bootstrap_differences

METHODS = ("auto", "bootstrap", "delong", "mcnemar")
#: below this many discordant rows McNemar's test is the exact binomial one (at null 0)
EXACT_BELOW = 50
_NORMAL = NormalDist()


@dataclass(frozen=True)
class ComparisonResult:
    """One paired comparison. `difference`, `ci_low`, `ci_high` and `null` are oriented:
    positive means the candidate is better, whatever the metric's direction."""

    metric: str
    test: str
    candidate_value: float
    baseline_value: float
    difference: float
    std_error: float
    null: float
    p_value: float
    ci_low: float
    ci_high: float
    confidence: float
    n_rows: int
    note: str = ""


def _normal_result(
    metric: str,
    test: str,
    values: tuple[float, float],
    std_error: float,
    null: float,
    confidence: float,
    n_rows: int,
) -> ComparisonResult:
    """z-test of `difference > null` and the Wald interval, from an estimate and its standard error."""
    difference = values[0] - values[1]
    if math.isnan(difference) or math.isnan(std_error):
        p = math.nan
    elif std_error > 0:
        p = 1 - _NORMAL.cdf((difference - null) / std_error)
    else:
        p = 0.0 if difference > null else 1.0
    half = _NORMAL.inv_cdf((1 + confidence) / 2) * std_error
    return ComparisonResult(
        metric, test, *values, difference, std_error, null, p, difference - half, difference + half,
        confidence, n_rows,
    )  # fmt: skip


def _sorted_midranks(ordered: np.ndarray) -> np.ndarray:
    """1-based ranks of already sorted values, tied values sharing the mean of their ranks."""
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    ends = np.append(starts[1:], len(ordered))
    return np.repeat((starts + ends + 1) / 2, ends - starts)


def delong(positive: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC AUC of each score column and their covariance matrix (DeLong et al. 1988).

    Midrank algorithm of Sun & Xu (2014), with one sort per column: O(n log n).
    `positive` is a boolean vector, `scores` has one column per model; ties count
    one half. Both classes must be present.
    """
    positive = np.asarray(positive, dtype=bool)
    m = int(positive.sum())
    n = len(positive) - m
    k = scores.shape[1]
    aucs, v01, v10 = np.empty(k), np.empty((m, k)), np.empty((n, k))
    index_among_positives = np.cumsum(positive) - 1
    index_among_negatives = np.cumsum(~positive) - 1
    for j in range(k):
        order = np.argsort(scores[:, j])
        ordered, is_positive = scores[order, j], positive[order]
        overall = _sorted_midranks(ordered)
        within_positives = _sorted_midranks(ordered[is_positive])
        within_negatives = _sorted_midranks(ordered[~is_positive])
        aucs[j] = (overall[is_positive].sum() / m - (m + 1) / 2) / n
        # per positive: share of negatives ranked below it; per negative: of positives above it
        v01[index_among_positives[order[is_positive]], j] = (overall[is_positive] - within_positives) / n
        v10[index_among_negatives[order[~is_positive]], j] = (
            1 - (overall[~is_positive] - within_negatives) / m
        )
    cov = np.atleast_2d(np.cov(v01, rowvar=False)) / m + np.atleast_2d(np.cov(v10, rowvar=False)) / n
    return aucs, cov


def _delong_result(
    positive: np.ndarray, candidate: ModelOutputs, baseline: ModelOutputs, null: float, confidence: float
) -> ComparisonResult:
    n_rows = len(positive)
    if min(positive.sum(), n_rows - positive.sum()) < 2:  # no variance from one row of a class
        nan = math.nan
        return ComparisonResult(
            "roc_auc", "delong", nan, nan, nan, nan, null, nan, nan, nan, confidence, n_rows
        )
    scores = np.column_stack([np.asarray(candidate.y_score)[:, -1], np.asarray(baseline.y_score)[:, -1]])
    aucs, cov = delong(positive, scores.astype(float))
    variance = max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0)
    values = (float(aucs[0]), float(aucs[1]))
    return _normal_result("roc_auc", "delong", values, math.sqrt(variance), null, confidence, n_rows)


def delong_test(
    y_true: np.ndarray,
    candidate: ModelOutputs,
    baseline: ModelOutputs,
    *,
    null: float = 0.0,
    confidence: float = 0.9,
) -> ComparisonResult:
    """DeLong's z-test of the paired ROC AUC difference of two binary classifiers.

    The result is `nan` when either class has fewer than 2 rows.
    """
    y = np.asarray(y_true)
    labels = class_labels(y, candidate)
    if len(labels) > 2:
        raise ConfigError(
            f"DeLong's test compares binary ROC AUCs; these labels have {len(labels)} classes. "
            "Use method 'bootstrap' (or 'auto', which does) for a multiclass ROC AUC."
        )
    return _delong_result(y == labels[-1], candidate, baseline, null, confidence)


def _tango_z(b: int, c: int, n: int, null: float) -> float:
    """Tango's (1998) score statistic for `p_b - p_c > null` in paired proportions."""
    big_a, big_b, big_c = 2 * n, -b - c + (2 * n - b + c) * null, -c * null * (1 - null)
    p21 = (math.sqrt(max(big_b**2 - 4 * big_a * big_c, 0.0)) - big_b) / (2 * big_a)
    denominator = math.sqrt(max(n * (2 * p21 + null * (1 - null)), 0.0))
    if denominator == 0:
        return math.inf if b - c - n * null > 0 else -math.inf
    return (b - c - n * null) / denominator


def _binomial_tail(k: int, trials: int) -> float:
    """P(X >= k) for X ~ Binomial(trials, 1/2), exactly."""
    return sum(math.comb(trials, i) for i in range(k, trials + 1)) / 2**trials


def mcnemar_test(
    y_true: np.ndarray,
    candidate: ModelOutputs,
    baseline: ModelOutputs,
    *,
    null: float = 0.0,
    confidence: float = 0.9,
) -> ComparisonResult:
    """McNemar's test of the paired accuracy difference, from the discordant rows.

    At `null == 0` with fewer than `EXACT_BELOW` discordant rows it is the exact
    binomial test; otherwise Tango's score test, which also handles a margin. The
    interval is the Wald interval of the difference of paired proportions.
    """
    y = np.asarray(y_true)
    right_c = np.asarray(candidate.y_pred) == y
    right_b = np.asarray(baseline.y_pred) == y
    n = len(y)
    b, c = int(np.sum(right_c & ~right_b)), int(np.sum(~right_c & right_b))
    values = (float(right_c.mean()), float(right_b.mean()))
    std_error = math.sqrt(max(b + c - (b - c) ** 2 / n, 0.0)) / n
    result = _normal_result("accuracy", "mcnemar_score", values, std_error, null, confidence, n)
    if null == 0 and b + c < EXACT_BELOW:
        return replace(result, test="mcnemar_exact", p_value=_binomial_tail(b, b + c))
    return replace(result, p_value=1 - _NORMAL.cdf(_tango_z(b, c, n, null)))


def bootstrap_test(
    metric: Metric,
    y_true: np.ndarray,
    candidate: ModelOutputs,
    baseline: ModelOutputs,
    *,
    null: float = 0.0,
    confidence: float = 0.9,
    n_resamples: int = 1000,
    seed: int = 0,
) -> ComparisonResult:
    """Paired bootstrap: percentile interval, p-value = share of resamples at or below `null`.

    The p-value is `(1 + #{resamples <= null}) / (1 + resamples kept)`, so it is never 0.
    """
    y = np.asarray(y_true)
    sign = 1.0 if metric.greater_is_better else -1.0
    values = (metric(y, candidate), metric(y, baseline))
    observed = values[0] - values[1]
    draws = sign * bootstrap_differences(
        metric, y, candidate, baseline, n_resamples=n_resamples, seed=seed,
        observed=None if math.isnan(observed) else observed,
    )  # fmt: skip
    kept = draws[~np.isnan(draws)]
    difference = sign * observed
    note = f"{len(draws) - len(kept)} of {len(draws)} resamples undefined" if len(kept) < len(draws) else ""
    if not len(kept) or math.isnan(difference):
        nan = math.nan
        return ComparisonResult(
            metric.name, "bootstrap", *values, difference, nan, null, nan, nan, nan, confidence, len(y), note
        )
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(kept, [tail, 100 - tail])
    p = (1 + np.count_nonzero(kept <= null)) / (1 + len(kept))
    std_error = float(np.std(kept, ddof=1)) if len(kept) > 1 else 0.0
    return ComparisonResult(
        metric.name, "bootstrap", *values, difference, std_error, null, float(p), float(low), float(high),
        confidence, len(y), note,
    )  # fmt: skip


def resolve_method(method: str, metric: str) -> str:
    """The test `method` means for `metric`: 'auto' picks DeLong for ROC AUC, McNemar for
    accuracy and the bootstrap otherwise; an explicit test must fit the metric."""
    if method not in METHODS:
        raise ConfigError(f"Unknown comparison method {method!r}. Use one of {', '.join(METHODS)}.")
    fits = {"delong": "roc_auc", "mcnemar": "accuracy"}
    if method == "auto":
        return next((m for m, name in fits.items() if name == metric), "bootstrap")
    if method in fits and fits[method] != metric:
        raise ConfigError(
            f"The '{method}' test applies to {fits[method]} only, not {metric!r}. "
            "Use method 'auto' or 'bootstrap' for this metric."
        )
    return method


def compare(
    metric: str,
    y_true: np.ndarray,
    candidate: ModelOutputs,
    baseline: ModelOutputs,
    *,
    method: str = "auto",
    null: float = 0.0,
    confidence: float = 0.9,
    n_resamples: int = 1000,
    seed: int = 0,
) -> ComparisonResult:
    """Compare the two models on `metric` with the test `method` resolves to (see `resolve_method`).

    DeLong on a multiclass ROC AUC, or either model without scores, falls back to the
    bootstrap with a note.
    """
    chosen = resolve_method(method, metric)
    y = np.asarray(y_true)
    if chosen == "delong":
        labels = class_labels(y, candidate)
        if candidate.y_score is not None and baseline.y_score is not None and len(labels) <= 2:
            return _delong_result(y == labels[-1], candidate, baseline, null, confidence)
        note = "DeLong needs binary labels and scores from both models; used the bootstrap"
        result = bootstrap_test(
            METRICS[metric], y, candidate, baseline, null=null, confidence=confidence,
            n_resamples=n_resamples, seed=seed,
        )  # fmt: skip
        return replace(result, note="; ".join(filter(None, [note, result.note])))
    if chosen == "mcnemar":
        return mcnemar_test(y, candidate, baseline, null=null, confidence=confidence)
    return bootstrap_test(
        METRICS[metric], y, candidate, baseline, null=null, confidence=confidence,
        n_resamples=n_resamples, seed=seed,
    )  # fmt: skip
