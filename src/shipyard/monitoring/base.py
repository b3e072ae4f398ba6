"""The drift-test contract: `compare(reference, current) -> DriftResult`.

A test compares one column. The reference side is the column's profile (plus its
sorted values when the reference data itself is at hand); the current side is a
summary of the new data accumulated on the reference's bins, in chunks, so memory
stays bounded whatever the window size. Tests are plain classes with a `name`, a
`kind` (`numeric` or `categorical`) and `compare`: write your own the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

# Proportions are clipped here before logarithms (PSI): an empty bin is not infinitely surprising.
EPSILON = 1e-4


@dataclass(frozen=True)
class DriftResult:
    """One test on one column. `exact` is False when computed from a profile's quantiles."""

    test: str
    statistic: float
    p_value: float | None = None
    exact: bool = True
    detail: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class DriftTest(Protocol):
    """A two-sample drift test on one column."""

    name: ClassVar[str]
    kind: ClassVar[str]

    def compare(self, reference: Any, current: Any) -> DriftResult: ...


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index of two proportion vectors over the same bins."""
    ref = np.clip(reference, EPSILON, None)
    cur = np.clip(current, EPSILON, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def jensen_shannon(reference: np.ndarray, current: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log), as `scipy.spatial.distance.jensenshannon`."""
    p = reference / reference.sum()
    q = current / current.sum()
    m = (p + q) / 2.0

    def kl(a: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log(a[mask] / m[mask])))

    return float(np.sqrt(max((kl(p) + kl(q)) / 2.0, 0.0)))


def proportions(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else np.zeros(len(counts))


def rise_p_value(ref_hits: int, ref_total: int, cur_hits: int, cur_total: int) -> float:
    """One-sided two-proportion z-test that the current share of hits is higher (pooled variance)."""
    from scipy.special import ndtr

    if not ref_total or not cur_total:
        return 1.0
    pooled = (ref_hits + cur_hits) / (ref_total + cur_total)
    variance = pooled * (1.0 - pooled) * (1.0 / ref_total + 1.0 / cur_total)
    if variance <= 0.0:
        return 1.0
    z = (cur_hits / cur_total - ref_hits / ref_total) / np.sqrt(variance)
    return float(ndtr(-z))
