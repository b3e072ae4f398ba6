"""Power of a paired comparison, and how many test rows a given tolerance needs.

A one-sided test at level alpha of `difference > boundary` with standard error `se`
decides correctly with probability `power` for a true difference `distance` beyond
the boundary when `distance / se >= z(1 - alpha) + z(power)`. The standard error
shrinks as 1 / sqrt(rows), which gives the rows needed. Run
``python -m shipyard.evaluation.power`` to print the table of docs/statistics.md.
"""

from __future__ import annotations

import math
from statistics import NormalDist

_NORMAL = NormalDist()


def power(std_error: float, distance: float, alpha: float) -> float:
    """Chance that a one-sided level-`alpha` z-test rejects when the truth is `distance`
    beyond the boundary: `Phi(distance / se - z(1 - alpha))`."""
    z = _NORMAL.inv_cdf(1 - alpha)
    if std_error == 0:
        return 1.0 if distance > 0 else alpha
    return _NORMAL.cdf(distance / std_error - z)


def rows_required(n_rows: int, std_error: float, distance: float, alpha: float, target: float) -> float:
    """Rows at which the standard error, now `std_error` at `n_rows`, gives power `target`.

    `inf` when `distance <= 0` (no test set separates a difference from itself) or so
    small that the count overflows.
    """
    if distance <= 0:
        return math.inf
    z = _NORMAL.inv_cdf(1 - alpha) + _NORMAL.inv_cdf(target)
    ratio = std_error * z / distance
    rows = n_rows * ratio * ratio  # a tiny distance overflows to inf here, where ** would raise
    return math.ceil(rows) if math.isfinite(rows) else math.inf


def auc_rows_required(
    loss: float,
    *,
    auc: float = 0.85,
    prevalence: float = 0.1,
    correlation: float = 0.9,
    alpha: float = 0.05,
    target: float = 0.8,
) -> int:
    """Test rows needed to tell a ROC AUC loss of `loss` from none (Hanley & McNeil 1982, 1983).

    One AUC's variance is about `((Q1 - A^2) / negatives + (Q2 - A^2) / positives)`, with
    `Q1 = A / (2 - A)`, `Q2 = 2 A^2 / (1 + A)`; two AUCs on the same rows whose estimates
    correlate by `correlation` differ with variance `2 V (1 - correlation)`.
    """
    a = auc
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    per_row = (q1 - a * a) / (1 - prevalence) + (q2 - a * a) / prevalence
    variance = 2 * per_row * (1 - correlation)
    z = _NORMAL.inv_cdf(1 - alpha) + _NORMAL.inv_cdf(target)
    return math.ceil(variance * (z / loss) ** 2)


def accuracy_rows_required(
    loss: float, *, discordance: float = 0.05, alpha: float = 0.05, target: float = 0.8
) -> int:
    """Test rows needed to tell an accuracy loss of `loss` from none, when a share
    `discordance` of rows is right for one model and wrong for the other (McNemar)."""
    z = _NORMAL.inv_cdf(1 - alpha) + _NORMAL.inv_cdf(target)
    return math.ceil(discordance * (z / loss) ** 2)


AUC_LOSSES = (0.005, 0.01, 0.02, 0.05)
PREVALENCES = (0.01, 0.03, 0.1, 0.5)
ACCURACY_LOSSES = (0.005, 0.01, 0.02)
DISCORDANCES = (0.02, 0.05, 0.1, 0.2)


def size_tables() -> str:
    """The Markdown tables of docs/statistics.md: rows needed at alpha 0.05 (one-sided), 80% power."""
    lines = [
        "| ROC AUC loss | " + " | ".join(f"prevalence {p:g}" for p in PREVALENCES) + " |",
        "|---|" + "---:|" * len(PREVALENCES),
    ]
    for loss in AUC_LOSSES:
        cells = " | ".join(f"{auc_rows_required(loss, prevalence=p):,}" for p in PREVALENCES)
        lines.append(f"| {loss:g} | {cells} |")
    lines += [
        "",
        "| accuracy loss | " + " | ".join(f"discordance {d:g}" for d in DISCORDANCES) + " |",
        "|---|" + "---:|" * len(DISCORDANCES),
    ]
    for loss in ACCURACY_LOSSES:
        cells = " | ".join(f"{accuracy_rows_required(loss, discordance=d):,}" for d in DISCORDANCES)
        lines.append(f"| {loss:g} | {cells} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(size_tables())
