"""Numbers `shipyard init` derives from the data so that its own data passes its policy:
data-check limits, a quality floor above a trivial baseline, a fairness bound.

Each function says in its docstring which rule it follows; `scaffold` writes the rule into
the generated `shipyard.yaml` as a comment.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

# Of the gap between prevalence and a perfect 1.0, the share the average precision must cover.
AP_LIFT = 0.1
ROC_AUC_FLOOR = 0.6
FAIRNESS_MARGIN = 0.1
MIN_GROUP_SIZE = 30
# Below this minority share a good binary model may score no test row above 0.5.
RARE_CLASS_SHARE = 0.2
FALSE_ALARM = 0.001


def _ceil(value: float, digits: int = 2) -> float:
    return math.ceil(value * 10**digits - 1e-9) / 10**digits


def _floor(value: float, digits: int = 3) -> float:
    return math.floor(value * 10**digits + 1e-9) / 10**digits


def min_class_fraction(rarest_share: float, batch_rows: int) -> float:
    """The share of the rarest class below which a batch of `batch_rows` rows from today's
    source falls with probability 0.1 % (binomial lower quantile), rounded down."""
    from scipy.stats import binom

    if rarest_share <= 0 or batch_rows <= 0:
        return 0.0
    low = float(binom.ppf(FALSE_ALARM, batch_rows, rarest_share)) / batch_rows
    return min(0.5, _floor(max(0.0, low)))


def average_precision_floor(prevalence: float) -> float:
    """Prevalence (what a random ranking scores) plus a tenth of the way to 1.0."""
    return _ceil(prevalence + AP_LIFT * (1 - prevalence))


def multiclass_accuracy_floor(majority_share: float) -> float:
    """Above always predicting the most frequent class."""
    return round(majority_share + 0.005, 2)


def _groups(values: pd.Series) -> pd.Series:
    """Groups as the fairness gate forms them: numeric columns with more than 10 values in quartiles."""
    import pandas as pd

    if (
        pd.api.types.is_numeric_dtype(values)
        and not pd.api.types.is_bool_dtype(values)
        and values.nunique() > 10
    ):
        return pd.qcut(values, 4, duplicates="drop").astype(str)
    return values.astype(str)


def min_group_size(test_rows: int) -> int:
    """The fairness gate's default 30 rows per group, down to 10 for small test splits."""
    return min(MIN_GROUP_SIZE, max(10, test_rows // 6))


def demographic_parity_bound(
    sensitive: pd.Series, positive: pd.Series, *, test_size: float, group_size: int
) -> float | None:
    """The largest gap in positive decisions across groups the policy allows: the gap in
    positive labels the data already has, plus what a test split's sampling noise adds
    (2.5 standard errors of a difference of two shares for the smallest group, at least
    0.1). None when fewer than two groups would reach `group_size` test rows."""
    groups = _groups(sensitive)
    counts = groups.value_counts()
    large = counts[counts * test_size >= 1.5 * group_size]
    if len(large) < 2:
        return None
    kept = groups.isin(large.index)
    rates = positive[kept].groupby(groups[kept]).mean()
    prevalence = float(positive.mean())
    smallest = float(large.min()) * test_size
    noise = 2.5 * math.sqrt(2 * prevalence * (1 - prevalence) / smallest)
    return min(1.0, _ceil(float(rates.max() - rates.min()) + max(FAIRNESS_MARGIN, noise)))
