"""The one strict date parser: ISO 8601 calendar dates and date-times only, within pandas' range."""

from __future__ import annotations

import pandas as pd
import pytest

from shipyard.data.dates import parse_datetimes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01", "2026-11-01 00:00:00+00:00"),
        ("2026-11-01T10:00", "2026-11-01 10:00:00+00:00"),
        ("2026-11-01 10:00:00", "2026-11-01 10:00:00+00:00"),
        ("2026-11-01T10:00:00.250Z", "2026-11-01 10:00:00.250000+00:00"),
        ("2026-11-01T10:00:00+02:00", "2026-11-01 08:00:00+00:00"),
        ("2026-11-01T10:00:00-0130", "2026-11-01 11:30:00+00:00"),
    ],
)
def test_calendar_forms_parse_to_utc(text: str, expected: str) -> None:
    parsed, failed = parse_datetimes(pd.Series([text]))
    assert str(parsed.iloc[0]) == expected and not failed.iloc[0]
    assert str(parsed.dtype) == "datetime64[ns, UTC]"


@pytest.mark.parametrize(
    "text",
    ["2026-W01-1", "2026W011", "2026-032", "20261101", "2026-02-30", "2026-13-01", "9999-12-31",
     "0001-01-01", "1677-01-01", "2026-11-01T25:00", "2026-11-01T10:00:00+99:00", "yesterday", " 2026-11-01"],
)  # fmt: skip
def test_other_forms_fail(text: str) -> None:
    parsed, failed = parse_datetimes(pd.Series([text]))
    assert failed.iloc[0] and pd.isna(parsed.iloc[0])


def test_empty_values_are_not_failures_and_datetimes_pass_through() -> None:
    parsed, failed = parse_datetimes(pd.Series([None, "", float("nan"), 5], dtype=object))
    assert failed.tolist() == [False, False, False, True]
    stamps = pd.Series(pd.to_datetime(["2026-01-01T00:00:00"]))
    parsed, failed = parse_datetimes(stamps)
    assert str(parsed.iloc[0]) == "2026-01-01 00:00:00+00:00" and not failed.any()
