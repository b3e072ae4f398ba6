"""Categorical drift tests: chi-squared, PSI, Jensen-Shannon and the share of unseen categories.

Counts are exact on both paths (a profile keeps up to 1,000 categories per column;
rarer ones are pooled as `other`). A category in the current data that the
reference never showed is "unseen"; when the reference pooled some categories,
a pooled one also counts as unseen.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from shipyard.data.profile import CategoricalProfile
from shipyard.monitoring.base import DriftResult, jensen_shannon, proportions, psi

OTHER = "<other>"


@dataclass
class CategoricalSummary:
    """The current side of one categorical column."""

    counts: Counter[str] = field(default_factory=Counter)
    nulls: int = 0

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    def update(self, counts: dict[str, int], nulls: int = 0) -> CategoricalSummary:
        self.counts.update(counts)
        self.nulls += nulls
        return self

    def merge(self, other: CategoricalSummary) -> CategoricalSummary:
        """The summary of both parts' rows (a new object)."""
        return CategoricalSummary(self.counts + other.counts, self.nulls + other.nulls)


def aligned_counts(
    reference: CategoricalProfile, current: CategoricalSummary
) -> tuple[list[str], np.ndarray]:
    """Categories of either side (reference order first) and a 2 x k table of their counts."""
    ref = dict(reference.counts)
    if reference.other:
        ref[OTHER] = reference.other
    names = list(ref) + sorted(set(current.counts) - set(ref))
    table = np.array(
        [[ref.get(n, 0) for n in names], [current.counts.get(n, 0) for n in names]], dtype=np.float64
    )
    return names, table


class ChiSquared:
    """Pearson's chi-squared test of homogeneity on the 2 x k table (no continuity correction)."""

    name: ClassVar[str] = "chi2"
    kind: ClassVar[str] = "categorical"

    def compare(self, reference: CategoricalProfile, current: CategoricalSummary) -> DriftResult:
        from scipy.special import chdtrc

        _, table = aligned_counts(reference, current)
        table = table[:, table.sum(axis=0) > 0]
        dof = table.shape[1] - 1
        if dof < 1:
            return DriftResult(self.name, 0.0, 1.0, detail={"dof": 0})
        expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
        statistic = float(np.sum((table - expected) ** 2 / expected))
        return DriftResult(self.name, statistic, float(chdtrc(dof, statistic)), detail={"dof": dof})


class CategoricalPopulationStability:
    """PSI over the categories of both sides."""

    name: ClassVar[str] = "psi"
    kind: ClassVar[str] = "categorical"

    def compare(self, reference: CategoricalProfile, current: CategoricalSummary) -> DriftResult:
        _, table = aligned_counts(reference, current)
        return DriftResult(self.name, psi(proportions(table[0]), proportions(table[1])))


class CategoricalJensenShannon:
    """Jensen-Shannon distance over the categories of both sides."""

    name: ClassVar[str] = "js"
    kind: ClassVar[str] = "categorical"

    def compare(self, reference: CategoricalProfile, current: CategoricalSummary) -> DriftResult:
        _, table = aligned_counts(reference, current)
        return DriftResult(self.name, jensen_shannon(table[0], table[1]))


class UnseenShare:
    """Share of current (non-null) values in categories the reference did not show."""

    name: ClassVar[str] = "unseen_share"
    kind: ClassVar[str] = "categorical"

    def compare(self, reference: CategoricalProfile, current: CategoricalSummary) -> DriftResult:
        unseen = {k: v for k, v in current.counts.items() if k not in reference.counts}
        total = current.count
        share = sum(unseen.values()) / total if total else 0.0
        top = sorted(unseen.items(), key=lambda kv: -kv[1])[:5]
        return DriftResult(self.name, share, detail={"unseen": dict(top), "n_unseen": len(unseen)})


CATEGORICAL_TESTS = (
    ChiSquared(),
    CategoricalPopulationStability(),
    CategoricalJensenShannon(),
    UnseenShare(),
)
