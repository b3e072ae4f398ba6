"""CSV has no types: ISO dates in a CSV are read as datetimes, anything ambiguous stays text."""

from pathlib import Path

import pandas as pd

from shipyard.data.loading import load_frame
from shipyard.data.schema import infer_schema


def test_iso_dates_in_csv_become_datetimes(tmp_path: Path):
    path = tmp_path / "visits.csv"
    path.write_text(
        "visit_date,seen_at,us_date,label,code\n"
        "2026-01-05,2026-01-05T08:30:00Z,01/02/2026,0,2026-01\n"
        "2026-02-11,2026-02-11T17:45:10Z,03/04/2026,1,2026-02\n"
        ",2026-03-01T00:00:00Z,05/06/2026,0,2026-03\n"
    )
    frame = load_frame(path)
    assert pd.api.types.is_datetime64_any_dtype(frame["visit_date"])
    assert frame["visit_date"].isna().sum() == 1
    assert pd.api.types.is_datetime64_any_dtype(frame["seen_at"])
    for text in ("us_date", "code"):  # day/month order is ambiguous; a month is not a date
        assert not pd.api.types.is_datetime64_any_dtype(frame[text])
    schema = infer_schema(frame, target="label")
    assert schema.column("visit_date").dtype == "datetime"
    assert schema.column("us_date").dtype == "string"
