"""A few failing values, picked and written the same way by every data check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

MAX_EXAMPLES = 5


def native(value: Any) -> Any:
    """A NumPy scalar as the plain Python value; timestamps and others unchanged."""
    return value.item() if hasattr(value, "item") and not isinstance(value, pd.Timestamp) else value


def _distinct(values: pd.Series) -> list[Any]:
    """Distinct values in order of first appearance."""
    try:
        return list(values.drop_duplicates())
    except TypeError:  # unhashable values, such as lists in an object column
        return list({repr(v): v for v in values}.values())


def example_values(values: pd.Series) -> list[Any]:
    """Up to `MAX_EXAMPLES` distinct values, as plain Python values."""
    return [native(v) for v in _distinct(values)[:MAX_EXAMPLES]]


def _show(value: Any) -> str:
    value = native(value)
    return str(value) if isinstance(value, pd.Timestamp) else repr(value)


def describe(values: pd.Series, noun: str = "") -> str:
    """` (e.g. 61234.5, 99000.0)` when some are left out, ` ('crypto')` when all are shown.

    A `noun` leads the list: ` (row 12)`, ` (e.g. rows 3, 5, 8, 13, 21)`.
    """
    distinct = _distinct(values)
    if not distinct:
        return ""
    shown = ", ".join(_show(v) for v in distinct[:MAX_EXAMPLES])
    lead = "e.g. " if len(distinct) > MAX_EXAMPLES else ""
    if noun:
        lead += f"{noun}{'s' * (len(distinct) != 1)} "
    return f" ({lead}{shown})"


def plural(count: int, noun: str) -> str:
    """`1 value`, `12 values`."""
    return f"{count} {noun}{'s' * (count != 1)}"


def percent(share: float) -> str:
    """`0.05%`, `12.3%`: three significant digits."""
    return f"{share * 100:.3g}%"


@dataclass(frozen=True)
class Hits:
    """What one check flagged: how many values, out of how many looked at, and the first distinct
    of them (one more than `MAX_EXAMPLES`, so `describe` knows whether some are left out).

    Hits of consecutive partitions merge into the hits of their concatenation: counts add, and
    the first distinct values of the whole are the first distinct of the parts' firsts in order.
    """

    count: int
    total: int
    first: pd.Series

    @classmethod
    def of(cls, flagged: pd.Series, total: int) -> Hits:
        return cls(len(flagged), total, _firsts(flagged))

    def merge(self, other: Hits) -> Hits:
        parts = [p for p in (self.first, other.first) if len(p)]
        first = (
            _firsts(pd.concat(parts, ignore_index=True)) if len(parts) == 2 else (parts or [self.first])[0]
        )
        return Hits(self.count + other.count, self.total + other.total, first)


def _firsts(values: pd.Series) -> pd.Series:
    """The first `MAX_EXAMPLES` + 1 distinct values, in a series of the same dtype."""
    try:
        distinct = values.drop_duplicates()
    except TypeError:  # unhashable values
        distinct = values[~pd.Series([repr(v) for v in values], index=values.index).duplicated().to_numpy()]
    return distinct.head(MAX_EXAMPLES + 1)
