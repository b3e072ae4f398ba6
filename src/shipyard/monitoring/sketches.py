"""Mergeable summaries: what one partition sends back, so partitions can be summarised apart.

- The drift summaries of the current side (`NumericSummary`, `CategoricalSummary`) are
  counts and sums on the reference's bins: merging adds them, and the merged summary is
  the one a single pass over all the rows gives (up to floating-point summation order).
- `NumericSketch` is the reference side's: count, nulls, mean and spread (Chan's parallel
  update), and a quantile sketch for the profile's quantiles. It keeps a column's
  order statistics at chosen ranks with the exact number of values below and up to each,
  and estimates any other rank by interpolation. The ranks kept are every one of the
  `EXACT_TAIL` smallest and largest, then ranks spaced `TAIL_ERROR` times their distance
  to the nearer end, then at most `rows / BODY_POINTS` apart. A merged sketch's rank
  error is the sum of its parts': at most `TAIL_ERROR` of the distance to the nearer end
  and at most `rows / BODY_POINTS` (0.1 %) overall, so the extreme tail quantiles are
  exact and the profile's KS error (1/200) dominates. Bin and histogram counts are not
  taken from the sketch: a second pass counts them exactly (`partitioned.profile_partitions`).

Examples:
    >>> import numpy as np
    >>> values = np.random.default_rng(0).normal(size=100_000)
    >>> a, b = NumericSketch.of(np.sort(values[:60_000])), NumericSketch.of(np.sort(values[60_000:]))
    >>> merged = a.merge(b)
    >>> exact = np.quantile(values, [0.0, 0.5, 0.999])
    >>> bool(np.all(np.abs(merged.quantiles(np.array([0.0, 0.5, 0.999])) - exact) < 0.01))
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shipyard.monitoring.categorical import CategoricalSummary
from shipyard.monitoring.numeric import NumericSummary

EXACT_TAIL = 64
TAIL_ERROR = 0.02
BODY_POINTS = 1024
ColumnSummary = NumericSummary | CategoricalSummary


def merge_summary(a: ColumnSummary, b: ColumnSummary) -> ColumnSummary:
    """The summary of both parts' rows (a new object; neither part changes)."""
    if isinstance(a, NumericSummary) and isinstance(b, NumericSummary):
        return a.merge(b)
    if isinstance(a, CategoricalSummary) and isinstance(b, CategoricalSummary):
        return a.merge(b)
    raise TypeError(f"Cannot merge a {type(a).__name__} with a {type(b).__name__}.")


def _sample_ranks(rows: int) -> np.ndarray:
    """0-based ranks kept from a sorted column of `rows` values (see the module docstring)."""
    exact = np.arange(min(EXACT_TAIL, rows))
    steps = int(np.ceil(np.log(max(rows, 2) / EXACT_TAIL) / np.log1p(TAIL_ERROR))) + 1
    tail = np.geomspace(EXACT_TAIL, max(rows / 2, EXACT_TAIL), max(steps, 1)).astype(np.int64)
    body = np.linspace(0, rows - 1, BODY_POINTS + 1).round().astype(np.int64)
    near = np.r_[exact, tail]
    ranks = np.unique(np.r_[near, rows - 1 - near, body])
    return ranks[(ranks >= 0) & (ranks < rows)]


@dataclass(frozen=True)
class NumericSketch:
    """Count, nulls, moments and a quantile sketch of one numeric column (see the module docstring)."""

    count: int
    nulls: int
    mean: float
    m2: float  # sum of squared deviations from the mean
    points: np.ndarray  # distinct values kept, increasing
    below: np.ndarray  # values < each point (exact)
    upto: np.ndarray  # values <= each point (exact)

    @classmethod
    def of(cls, sorted_values: np.ndarray, nulls: int = 0) -> NumericSketch:
        """The sketch of one part's sorted non-null values."""
        n = len(sorted_values)
        if n == 0:
            empty = np.zeros(0)
            return cls(0, nulls, 0.0, 0.0, empty, empty.astype(np.int64), empty.astype(np.int64))
        points = np.unique(sorted_values[_sample_ranks(n)])
        mean = float(np.mean(sorted_values))
        m2 = float(np.sum((sorted_values - mean) ** 2))
        below = np.searchsorted(sorted_values, points, side="left")
        upto = np.searchsorted(sorted_values, points, side="right")
        return cls(n, nulls, mean, m2, points, below, upto)

    @property
    def std(self) -> float:
        """The population standard deviation (as `np.std`)."""
        return float(np.sqrt(self.m2 / self.count)) if self.count else 0.0

    def ranks_at(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values below and up to each of `values`: exact at a kept point or beyond either end,
        interpolated between two kept points."""
        j = np.searchsorted(self.points, values, side="left")
        inside = j < len(self.points)
        hit = inside & (self.points[np.minimum(j, len(self.points) - 1)] == values)
        lower = np.where(j > 0, self.upto[np.maximum(j - 1, 0)], 0).astype(np.float64)
        upper = np.where(inside, self.below[np.minimum(j, len(self.points) - 1)], self.count).astype(
            np.float64
        )
        left = self.points[np.maximum(j - 1, 0)]
        right = self.points[np.minimum(j, len(self.points) - 1)]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where((j > 0) & inside & (right > left), (values - left) / (right - left), 0.0)
        estimate = lower + frac * (upper - lower)
        at = np.minimum(j, len(self.points) - 1)
        return np.where(hit, self.below[at], estimate), np.where(hit, self.upto[at], estimate)

    def merge(self, other: NumericSketch) -> NumericSketch:
        """The sketch of both parts' values: ranks add at every point either kept."""
        if not other.count or not self.count:
            kept = self if self.count else other
            return NumericSketch(
                kept.count, self.nulls + other.nulls, kept.mean, kept.m2, kept.points, kept.below, kept.upto
            )
        count = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * other.count / count
        m2 = self.m2 + other.m2 + delta**2 * self.count * other.count / count
        points = np.union1d(self.points, other.points)
        (a_below, a_upto), (b_below, b_upto) = self.ranks_at(points), other.ranks_at(points)
        return NumericSketch(
            count, self.nulls + other.nulls, mean, m2, points, a_below + b_below, a_upto + b_upto
        )

    def quantiles(self, probs: np.ndarray) -> np.ndarray:
        """`np.quantile(values, probs)` (linear method), within the sketch's rank error."""
        position = np.asarray(probs, dtype=np.float64) * (self.count - 1)
        low = np.floor(position)
        high = np.minimum(low + 1, self.count - 1)
        first, second = self._order_statistic(low), self._order_statistic(high)
        return first + (position - low) * (second - first)

    def _order_statistic(self, rank: np.ndarray) -> np.ndarray:
        """The value of 0-based rank `rank`: a kept point whose run of equal values holds it, else
        interpolated between the two kept points around it."""
        t = np.minimum(np.searchsorted(self.upto, rank, side="right"), len(self.points) - 1)
        s = np.maximum(t - 1, 0)
        gap = self.below[t] - np.where(t > 0, self.upto[s], 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(gap > 0, (rank - self.upto[s] + 1) / (gap + 1), 1.0)
        between = self.points[s] + np.clip(share, 0.0, 1.0) * (self.points[t] - self.points[s])
        return np.where((rank >= self.below[t]) | (t == 0), self.points[t], between)
