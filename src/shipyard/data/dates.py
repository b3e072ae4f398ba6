"""One strict date-time parser for every place that turns text into timestamps.

Request validation and the model's input frame use the same function, so a value that
passes validation can never fail later in the model: ISO 8601 calendar dates and date-times
only (`2026-11-01`, `2026-11-01T10:00`, `2026-11-01 10:00:00.123+02:00`, `...Z`). Week dates
(`2026-W01-1`), ordinal dates (`2026-032`), basic format (`20261101`) and anything outside
pandas' nanosecond range (years 1677-2262) are refused. Naive values are taken as UTC.

Examples:
    >>> import pandas as pd
    >>> parsed, failed = parse_datetimes(pd.Series(["2026-11-01T10:00:00Z", "2026-W01-1", None]))
    >>> [str(v) for v in parsed]
    ['2026-11-01 10:00:00+00:00', 'NaT', 'NaT']
    >>> failed.tolist()
    [False, True, False]
"""

from __future__ import annotations

import re

import pandas as pd

_CALENDAR = re.compile(
    r"\d{4}-\d{2}-\d{2}"  # calendar date
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"  # optional time, seconds, fraction
    r"(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"  # optional UTC offset
)

_EARLIEST = pd.Timestamp("1678-01-01", tz="UTC")  # pandas' nanosecond range, whole years inside it
_LATEST = pd.Timestamp("2261-12-31T23:59:59.999999999", tz="UTC")


def is_calendar_text(value: object) -> bool:
    """Whether `value` is a string in the accepted ISO 8601 calendar shape (range not checked)."""
    return isinstance(value, str) and _CALENDAR.fullmatch(value) is not None


def parse_datetimes(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse `values` strictly: (datetime64[ns, UTC] values, mask of non-empty values that failed).

    Empty values (None, NaN, NaT, "") become NaT and are not failures; the caller decides
    whether nulls are allowed.
    """
    index = values.index
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = values.dt.tz_localize("UTC") if values.dt.tz is None else values.dt.tz_convert("UTC")
        return parsed.astype("datetime64[ns, UTC]"), pd.Series(False, index=index)
    empty = values.isna() | values.map(lambda v: isinstance(v, str) and v == "")
    shaped = values.map(lambda v: isinstance(v, pd.Timestamp) or is_calendar_text(v))
    text = values.where(shaped & ~empty)
    parsed = pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
    if text.notna().any():
        candidates = text.dropna()
        stamps = pd.to_datetime(candidates, format="ISO8601", utc=True, errors="coerce")
        stamps = stamps.where((stamps >= _EARLIEST) & (stamps <= _LATEST))
        parsed.loc[candidates.index] = stamps.astype("datetime64[ns, UTC]")
    failed = ~empty & parsed.isna()
    return parsed, failed
