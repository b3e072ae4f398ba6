"""Statistics of live traffic: what a canary step's rules decide on, at the step's sample size.

Every rule of a rollout compares the canary with production on what the step has seen so
far, so each works from an interval rather than a point estimate: a proportion's Wilson
bound, a difference of proportions by Newcombe's hybrid score method, a quantile's
distribution-free order-statistic bounds, a difference of two such estimates by MOVER
(Zou & Donner 2008), PSI against its chi-squared noise level at the two sample sizes.
Pure NumPy and the standard library: the rollout controller imports this on every tick.

Examples
--------
>>> low, high = wilson_bounds(0, 300, z=1.645)
>>> low, round(high, 4)
(0.0, 0.0089)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

_NORMAL = NormalDist()
MIN_MEAN_ROWS = 10


def z_of(alpha: float) -> float:
    """The one-sided normal quantile for level `alpha` (1.645 for 0.05)."""
    return _NORMAL.inv_cdf(1 - alpha)


@dataclass(frozen=True)
class RouteSample:
    """One route's traffic in a window: failed and answered requests, and its model calls.

    `latency_ms` holds one value per model call (the call time, shared by the rows it
    scored) and `batch_rows` the rows of each call, or None when the log has no
    `batch_rows` column.
    """

    requests: int
    errors: int
    latency_ms: np.ndarray = field(default_factory=lambda: np.empty(0))
    batch_rows: np.ndarray | None = None
    error_source: str = "log"


@dataclass(frozen=True)
class TrafficSample:
    """The canary's and production's traffic over the same window (rollout analysis only)."""

    candidate: RouteSample
    baseline: RouteSample


def wilson_bounds(successes: int, n: int, *, z: float) -> tuple[float, float]:
    """One-sided Wilson score bounds of a proportion at normal quantile `z`; (0, 1) on n = 0."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_bounds(x1: int, n1: int, x2: int, n2: int, *, z: float) -> tuple[float, float, float]:
    """`p1 - p2` and its one-sided bounds by Newcombe's hybrid score method (his method 10)."""
    p1, p2 = (x1 / n1 if n1 else 0.0), (x2 / n2 if n2 else 0.0)
    l1, u1 = wilson_bounds(x1, n1, z=z)
    l2, u2 = wilson_bounds(x2, n2, z=z)
    d = p1 - p2
    return d, d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2)


def quantile_bounds(values: np.ndarray, q: float, *, z: float) -> tuple[float, float, float]:
    """The `q` quantile of `values` and its distribution-free one-sided bounds (order
    statistics, normal approximation of the binomial); -inf / inf where n is too small."""
    ordered = np.sort(np.asarray(values, dtype=float))
    n = len(ordered)
    if n == 0:
        return math.nan, -math.inf, math.inf
    spread = z * math.sqrt(n * q * (1 - q))
    lo, hi = math.floor(n * q - spread), math.ceil(n * q + spread)
    estimate = float(np.quantile(ordered, q))
    low = float(ordered[lo - 1]) if lo >= 1 else -math.inf
    high = float(ordered[hi]) if hi <= n - 1 else math.inf
    return estimate, low, high


def mover(
    first: tuple[float, float, float], second: tuple[float, float, float]
) -> tuple[float, float, float]:
    """`a - b` with bounds from each one's (estimate, low, high) by MOVER (Zou & Donner 2008)."""
    a, la, ua = first
    b, lb, ub = second
    d = a - b
    return d, d - math.hypot(a - la, ub - b), d + math.hypot(ua - a, b - lb)


@dataclass(frozen=True)
class CostCurve:
    """Production's median call time `overhead + per_row * rows`, fitted by weighted least
    squares to the median call time of each batch size (weights: each median's precision),
    with the standard error of the fitted value at a batch size."""

    overhead: float
    per_row: float
    covariance: tuple[float, float, float]  # var(overhead), cov, var(per_row)

    def at(self, rows: np.ndarray) -> np.ndarray:
        floor = 0.05 * max(self.overhead + self.per_row, 1e-6)
        return np.maximum(self.overhead + self.per_row * rows, floor)

    def relative_se(self, rows: float) -> float:
        v0, c, v1 = self.covariance
        variance = max(v0 + 2 * rows * c + rows * rows * v1, 0.0)
        return math.sqrt(variance) / float(self.at(np.array([rows]))[0])


def cost_curve(latency_ms: np.ndarray, batch_rows: np.ndarray) -> CostCurve:
    """Fit `CostCurve` to one route's calls (one batch size only: the call time is all overhead)."""
    sizes, inverse, counts = np.unique(batch_rows, return_inverse=True, return_counts=True)
    logs = np.log(latency_ms)
    centres = np.array([np.median(logs[inverse == i]) for i in range(len(sizes))])
    spread = 1.4826 * float(np.median(np.abs(logs - centres[inverse]))) if len(logs) > 1 else 0.3
    medians = np.exp(centres)
    # a sample median's variance: (pi/2) sigma^2 / n, here in ms through the log-scale spread
    variances = (math.pi / 2) * max(spread, 0.01) ** 2 * medians**2 / counts
    w = 1 / variances
    if len(sizes) < 2:
        return CostCurve(float(medians[0]), 0.0, (float(variances[0]), 0.0, 0.0))
    total, mean_b = w.sum(), np.average(sizes, weights=w)
    sxx = float(np.sum(w * (sizes - mean_b) ** 2))
    slope = float(np.sum(w * (sizes - mean_b) * (medians - np.average(medians, weights=w))) / sxx)
    intercept = float(np.average(medians, weights=w) - slope * mean_b)
    var_slope = 1 / sxx
    return CostCurve(intercept, slope, (1 / total + mean_b**2 * var_slope, -mean_b * var_slope, var_slope))


def latency_log_ratio(
    candidate: RouteSample, baseline: RouteSample, *, q: float, z: float
) -> tuple[float, float, float, str]:
    """Log of the canary's `q` latency quantile over production's, with one-sided bounds, and
    how the two routes were put on equal terms.

    The route with more traffic runs bigger micro-batches, so raw call times differ even for
    one model, and neither call time nor time per row is fair to both (a call's cost is
    mostly fixed for small models, mostly per row for large ones). So production's cost
    curve `overhead + per_row * rows` is fitted to its calls, and every call of both routes
    is divided by what production takes for that batch size: the ratio compares the routes
    at equal batch sizes, and its bounds include the curve's own uncertainty. Without
    `batch_rows` the call times are compared as they are.
    """
    c_ms, p_ms = np.maximum(candidate.latency_ms, 1e-6), np.maximum(baseline.latency_ms, 1e-6)
    if candidate.batch_rows is None or baseline.batch_rows is None:
        c_log, p_log = np.log(c_ms), np.log(p_ms)
        return (*mover(quantile_bounds(c_log, q, z=z), quantile_bounds(p_log, q, z=z)), "call time")
    c_rows, p_rows = np.maximum(candidate.batch_rows, 1), np.maximum(baseline.batch_rows, 1)
    curve = cost_curve(p_ms, p_rows)
    est, low, high = quantile_bounds(np.log(c_ms / curve.at(c_rows)), q, z=z)
    fit = z * curve.relative_se(float(np.median(c_rows)))
    widened = (est, est - math.hypot(est - low, fit), est + math.hypot(high - est, fit))
    how = f"at equal batch sizes (production: {curve.overhead:.3g} ms + {curve.per_row:.3g} ms/row)"
    p_res = np.log(p_ms / curve.at(p_rows))
    return (*mover(widened, quantile_bounds(p_res, q, z=z)), how)


def chi2_quantile(p: float, df: int) -> float:
    """Wilson-Hilferty approximation of the chi-squared quantile (within ~1% for df >= 3)."""
    z = _NORMAL.inv_cdf(p)
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def psi_noise(n_current: int, n_reference: int, bins: int, *, alpha: float) -> float:
    """The PSI that sampling noise alone exceeds with probability `alpha` between two samples
    of one distribution of these sizes: PSI ~ (1/n + 1/m) chi2(bins - 1) to second order."""
    if n_current <= 0 or n_reference <= 0:
        return math.inf
    return (1 / n_current + 1 / n_reference) * chi2_quantile(1 - alpha, max(bins - 1, 1))


def mean_bounds(values: np.ndarray, *, z: float) -> tuple[float, float, float]:
    """The mean of `values` with normal-approximation one-sided bounds (infinite under
    `MIN_MEAN_ROWS` values, where that approximation does not hold)."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n < MIN_MEAN_ROWS:
        return (float(values.mean()) if n else math.nan), -math.inf, math.inf
    mean, se = float(values.mean()), float(values.std(ddof=1) / math.sqrt(n))
    return mean, mean - z * se, mean + z * se
