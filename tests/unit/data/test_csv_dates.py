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


def test_csv_dates_are_parsed_as_the_server_parses_a_request(tmp_path: Path):
    path = tmp_path / "events.csv"
    path.write_text(
        "at,mixed,week\n"
        "2026-01-05T08:30:00+02:00,2026-01-05,2026-01-05\n"
        "2026-01-05T08:30:00Z,2026-01-05T08:30:00,2026-W01-1\n"
    )
    frame = load_frame(path)
    # UTC without a zone, as `batch_frame` hands a request to the model; mixed offsets are fine
    assert frame["at"].dtype == "datetime64[ns]"
    assert frame["at"].tolist() == [pd.Timestamp("2026-01-05 06:30"), pd.Timestamp("2026-01-05 08:30")]
    assert frame["mixed"].dtype == "datetime64[ns]"
    # the server refuses a week date, so a column holding one stays text
    assert not pd.api.types.is_datetime64_any_dtype(frame["week"])
