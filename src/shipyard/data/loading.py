"""Read a data set from disk: a CSV file, a Parquet file, or a folder of Parquet files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa

from shipyard.data._dtypes import as_family_dtypes
from shipyard.data.dates import is_calendar_text, parse_datetimes
from shipyard.errors import ConfigError

CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zst", ".csv.xz")
PARQUET_SUFFIXES = (".parquet", ".pq")
_SUPPORTED = (
    "a CSV file (.csv, optionally compressed), a Parquet file (.parquet, .pq) or a folder of Parquet files"
)


def _has_suffix(path: Path, suffixes: tuple[str, ...]) -> bool:
    return path.name.lower().endswith(suffixes)


def load_frame(path: str | Path) -> pd.DataFrame:
    """Load a data set into a DataFrame.

    A 0-byte CSV gives an empty frame, so validation reports it rather than the
    reader crashing. Durations, Arrow dates and decimals are converted to the dtype their
    schema family is checked in (`as_family_dtypes`). Hidden and `_`-prefixed files in a Parquet folder
    (`_SUCCESS`, `.crc`) are skipped, as Spark and pyarrow write them.
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"No data at {path}. Check 'data.source' in shipyard.yaml; expected {_SUPPORTED}.")
    if path.is_dir():
        parts = [p for p in path.rglob("*") if p.is_file() and _has_suffix(p, PARQUET_SUFFIXES)]
        if not any(not p.name.startswith((".", "_")) for p in parts):
            raise ConfigError(f"The folder {path} holds no Parquet files. Expected {_SUPPORTED}.")
        return as_family_dtypes(_read(path, pd.read_parquet))
    if _has_suffix(path, CSV_SUFFIXES):
        return as_family_dtypes(parse_typed_text(_read(path, pd.read_csv)))
    if _has_suffix(path, PARQUET_SUFFIXES):
        return as_family_dtypes(_read(path, pd.read_parquet))
    raise ConfigError(f"Cannot read {path}: unsupported file type. Expected {_SUPPORTED}.")


def _read(path: Path, reader: Callable[[Path], pd.DataFrame]) -> pd.DataFrame:
    """Run a pandas reader, turning a malformed file into a `ConfigError` that names it."""
    try:
        return reader(path)
    except pd.errors.EmptyDataError:  # a 0-byte or blank CSV
        return pd.DataFrame()
    except (pd.errors.ParserError, pa.ArrowException, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(
            f"Cannot read {path}: {exc}. Check that it is {_SUPPORTED}, and not damaged."
        ) from None


# A duration as pandas writes one to CSV (`0 days 00:04:37`) or as ISO 8601 (`PT4M37S`, `P1DT2H`).
_DURATION = (
    r"-?\d+ days? [+-]?\d{1,2}:\d{2}:\d{2}(?:\.\d+)?"
    r"|-?P(?=\d|T\d)(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?"
)


def _duration_seconds(values: pd.Series) -> pd.Series | None:
    """A text column whose every value is a duration, as float seconds (what a Parquet
    duration loads as); else None."""
    present = values.dropna().astype("string")
    if present.empty or not present.str.fullmatch(_DURATION).all():
        return None
    return pd.to_timedelta(values.astype(object)).dt.total_seconds().astype("float64")


def parse_typed_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns of a CSV whose every value is an ISO-8601 date or date-time become datetimes,
    and those whose every value is a duration become seconds.

    CSV has no types: without this a timestamp column would be validated as free text and
    could not drive a time split. Only unambiguous ISO values qualify (`2026-01-31`,
    `2026-01-31T14:05:00Z`), never day/month orders that could be read two ways. They are
    parsed as the server parses a request (`parse_datetimes`, then UTC without a zone), so a
    model trains on the very values it will be served. A duration is read as a Parquet one
    is (`as_family_dtypes`): its length in seconds, the number a request sends.
    """
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object and not pd.api.types.is_string_dtype(values):
            continue
        present = values.dropna()
        if present.empty:
            continue
        if not is_calendar_text(present.iloc[0]):  # cheap test before parsing all
            seconds = _duration_seconds(values)
            if seconds is not None:
                frame[column] = seconds
            continue
        parsed, failed = parse_datetimes(values)
        if not failed.any():  # one value that is not an ISO date keeps the column as text
            frame[column] = parsed.dt.tz_localize(None)
    return frame
