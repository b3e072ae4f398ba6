"""Family-wise error control across several comparisons in one gate (Holm 1979).

Holm's step-down procedure rejects the same hypotheses as comparing the adjusted
p-values below with alpha, and keeps the chance of any false rejection among the
family at most alpha, whatever the dependence between the tests.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CORRECTIONS = ("holm", "none")


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values, in the input order; `nan` entries stay `nan` and do not count.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(len(p), np.nan)
    present = np.flatnonzero(~np.isnan(p))
    order = present[np.argsort(p[present], kind="stable")]
    k = len(order)
    steps = (k - np.arange(k)) * p[order]
    adjusted[order] = np.minimum(np.maximum.accumulate(steps), 1.0)
    return adjusted


def adjust(p_values: Sequence[float], correction: str) -> np.ndarray:
    """p-values adjusted by `correction` ('holm' or 'none')."""
    return holm(p_values) if correction == "holm" else np.asarray(p_values, dtype=float)
