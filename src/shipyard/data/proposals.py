"""Data rules `shipyard init` proposes for `shipyard.yaml`, from the reference data alone.

The rules judge batches, not the reference data: a proposal must pass on its own
data and on a clean batch from the same source (a fifth of the rows, a day's
export), so neither may be tied to today's row count.

Examples
--------
>>> propose_min_rows(891), propose_min_rows(280_000), propose_min_rows(5)
(89, 100, 1)
>>> import pandas as pd
>>> coarse = pd.DataFrame({"sex": ["f", "m"] * 50, "band": ["a", "a", "b", "b"] * 25})
>>> propose_max_duplicate_fraction(coarse)  # 96 of 100 rows repeat: they may
1.0
>>> propose_max_duplicate_fraction(pd.DataFrame({"x": range(1000)}))
0.011
"""

from __future__ import annotations

import pandas as pd

from shipyard.data._allowances import round_up, upper_bound

# The volume floor proposed for any data set: enough rows for the statistical checks to mean
# something, small enough that a batch of a tenth of today's rows passes.
MIN_ROWS_FLOOR = 100
DUPLICATE_FLOOR = 0.01


def propose_min_rows(rows: int) -> int:
    """A volume floor for batches: a tenth of the reference rows, at most `MIN_ROWS_FLOOR`, at least 1.

    Never half of today's rows: a batch is a fraction of them by nature. The committed
    smoke sample (up to 1,000 rows) is checked with no floor at all.
    """
    return max(1, min(MIN_ROWS_FLOOR, rows // 10))


def propose_max_duplicate_fraction(frame: pd.DataFrame) -> float:
    """The share of repeated rows to allow: the reference's own share, its 99.9 % upper bound
    times 1.5 (a larger batch of coarse rows repeats more), and at least 1 %."""
    rows = len(frame)
    if rows == 0:
        return DUPLICATE_FLOOR
    try:
        repeats = int(frame.duplicated().sum())
    except TypeError:  # unhashable cells: the check is skipped, any proposal holds
        return DUPLICATE_FLOOR
    allowance = 1.5 * upper_bound(repeats, rows)
    return min(1.0, max(DUPLICATE_FLOOR, round_up(allowance)))
