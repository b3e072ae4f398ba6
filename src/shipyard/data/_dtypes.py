"""Dtype families: the coarse column types a schema records, and which pandas dtypes fit each.

A schema says `float`, not `float64`: a CSV and a Parquet file of the same data
differ in width, nullability and string storage, and none of that should fail a
check. A string column may arrive as `object`, `str` (pandas 3) or `category`; a
decimal column (Arrow `decimal128`) arrives as `object` holding `Decimal`s and is a float.

Three kinds of column are converted as they are loaded (`as_family_dtypes`), so every
stage, the schema and the served model see one representation: a duration (`timedelta64`,
Arrow `duration`) becomes its length in seconds (a float: JSON has no duration type, and a
model needs a number), an Arrow calendar date (`date32`, `date64`) a `datetime64`, a
decimal a float64, and booleans with gaps in an `object` column (a CSV's) pandas' `boolean`.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Literal, get_args

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types

DtypeFamily = Literal["int", "float", "bool", "category", "string", "datetime"]
FAMILIES: tuple[str, ...] = get_args(DtypeFamily)
NUMERIC: frozenset[str] = frozenset({"int", "float"})
TEXT: frozenset[str] = frozenset({"category", "string"})
BOUNDED: frozenset[str] = frozenset({"int", "float", "datetime"})


def _converted(series: pd.Series) -> pd.Series | None:
    """The column in the dtype its family is checked in, or None when it already is one."""
    dtype = series.dtype
    if types.is_timedelta64_dtype(dtype) or (
        isinstance(dtype, pd.ArrowDtype) and pa.types.is_duration(dtype.pyarrow_dtype)
    ):
        return series.dt.total_seconds().astype("float64")
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_date(dtype.pyarrow_dtype):
        return series.astype("datetime64[s]")
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_decimal(dtype.pyarrow_dtype):
        return series.astype("float64")
    if types.is_object_dtype(dtype) and len(present := series.dropna()):
        if _all_instances(present, Decimal):
            return numeric_values(series).reindex(series.index)
        if _all_instances(present, (bool, np.bool_)):  # a CSV's booleans with gaps
            return series.astype("boolean")
    return None


def as_family_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with durations as float seconds, Arrow dates as `datetime64`, decimals as float64
    and object booleans as `boolean`.

    Other columns are left as they are (the same objects, no copy).
    """
    for column in frame.columns:
        converted = _converted(frame[column])
        if converted is not None:
            frame[column] = converted
    return frame


def _arrow_converted(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """An Arrow column as `as_family_dtypes` reads it into pandas: durations as float seconds,
    dates as timestamps, decimals as float64; any other column as it is."""
    kind = column.type
    if pa.types.is_duration(kind):
        per_second = {"s": 1, "ms": 1e3, "us": 1e6, "ns": 1e9}[kind.unit]
        return pc.divide(pc.cast(column, pa.int64()).cast(pa.float64()), per_second)
    if pa.types.is_date(kind):
        return column.cast(pa.timestamp("s"))
    if pa.types.is_decimal(kind):
        return column.cast(pa.float64())
    return column


def as_family_table(table: pa.Table) -> pa.Table:
    """`as_family_dtypes` for a Parquet partition read as Arrow, so a folder validates as a file."""
    stored = table.columns  # each access wraps the columns anew: compare with one list
    columns = [_arrow_converted(column) for column in stored]
    changed = {
        name: "datetime64[s]" if pa.types.is_timestamp(new.type) else "float64"
        for name, new, old in zip(table.column_names, columns, stored, strict=True)
        if new is not old
    }
    if not changed:
        return table
    # The file's pandas metadata stays (it keeps the other columns' nullable dtypes alike in every
    # partition), with the converted columns' dtypes, as the old ones would turn them back.
    metadata = dict(table.schema.metadata or {})
    if b"pandas" in metadata:
        described = json.loads(metadata[b"pandas"])
        for entry in described.get("columns", []):
            if entry.get("name") in changed:
                numpy_type = changed[entry["name"]]
                pandas_type = "datetime" if numpy_type.startswith("datetime") else numpy_type
                entry.update(pandas_type=pandas_type, numpy_type=numpy_type, metadata=None)
        metadata[b"pandas"] = json.dumps(described).encode()
    return pa.table(columns, names=table.column_names, metadata=metadata)


def _all_instances(series: pd.Series, kind: type | tuple[type, ...]) -> bool:
    return all(isinstance(v, kind) for v in series.dropna())


def family_of(series: pd.Series) -> DtypeFamily | None:
    """The family of a column's dtype, or None when no family fits (lists, timedeltas...)."""
    dtype = series.dtype
    # Categorical first: a categorical of booleans also passes `is_bool_dtype`.
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if types.is_bool_dtype(dtype):
        return "bool"
    if types.is_integer_dtype(dtype):
        return "int"
    if types.is_float_dtype(dtype):
        return "float"
    if types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if types.is_object_dtype(dtype):
        values = series.dropna()
        if len(values) and _all_instances(values, (bool, np.bool_)):
            return "bool"
        if len(values) and _all_instances(values, Decimal):
            return "float"
        return "string" if _all_instances(values, str) else None
    if types.is_string_dtype(dtype):
        return "string"
    return None


def _kind(value: object) -> str:
    """A value's type as a user knows it: Parquet lists load as numpy arrays, structs as dicts."""
    if isinstance(value, list | tuple | np.ndarray):
        return "list"
    return "struct" if isinstance(value, dict) else type(value).__name__


def unfit_description(series: pd.Series) -> str:
    """What a column no family fits holds, for the refusal: its dtype, or its value types if object.

    An `object` dtype says nothing; `list values` or `int and str values` says what to fix.
    """
    if not types.is_object_dtype(series.dtype):
        return f"dtype {series.dtype}"
    kinds = sorted({_kind(v) for v in series.dropna()})
    shown = " and ".join(kinds[:4]) + (f" (and {len(kinds) - 4} more types)" if len(kinds) > 4 else "")
    return f"{shown} values (dtype object)"


_ISO_DATE = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$"


def parse_dates(series: pd.Series) -> pd.Series:
    """ISO-8601 text as date-times; anything else (and nulls) as NaT."""
    text = series.astype("string")
    iso = text.str.fullmatch(_ISO_DATE).fillna(False).astype(bool)
    parsed = pd.to_datetime(text.where(iso), format="ISO8601", errors="coerce", utc=False)
    return parsed


def as_dates(series: pd.Series) -> pd.Series | None:
    """A text column whose every value is an ISO-8601 date or date-time, parsed; else None.

    A `year` column of ints never comes here: only text is read as dates.
    """
    present = series.dropna()
    if present.empty:
        return None
    text = present.astype("string")
    if not text.str.fullmatch(_ISO_DATE).all():
        return None
    try:
        return pd.to_datetime(series, format="ISO8601")
    except (ValueError, TypeError):  # e.g. mixed time zones: leave the text as it is
        return None


def numeric_values(values: pd.Series) -> pd.Series:
    """Non-null numbers of an int or float column as float64 (decimals and nullable dtypes too)."""
    return pd.Series(pd.to_numeric(values, errors="coerce"), index=values.index).astype("float64").dropna()


def _integral(series: pd.Series) -> pd.Series:
    """Which non-null values of a float column are whole numbers."""
    values = series.dropna().astype("float64")
    return values.eq(np.floor(values)) & np.isfinite(values)


def fits_family(series: pd.Series, family: str) -> bool:
    """Whether a column's dtype is acceptable where the schema expects `family`.

    An all-null column fits any family (a CSV reader types it float). An int
    column may arrive as floats when it holds nulls, so whole floats fit `int`;
    ints fit `float`; object, `str` and `category` all fit `string` and `category`.
    """
    if series.notna().sum() == 0:
        return True
    actual = family_of(series)
    if family in TEXT:
        return actual in TEXT
    if family == "float":
        return actual in NUMERIC
    if family == "int" and actual == "float":
        return bool(_integral(series).all())
    return actual == family


def _fits_value(value: object, family: str) -> bool:
    if family in TEXT:
        return isinstance(value, str)
    is_bool = isinstance(value, bool | np.bool_)
    if family == "bool" or is_bool:
        # float(True) is 1.0, yet a boolean is no number in a numeric column.
        return family == "bool" and is_bool
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return False
    if family == "int":
        return math.isfinite(number) and number.is_integer()
    return not math.isnan(number)


def misfits(series: pd.Series, family: str) -> pd.Series:
    """Non-null values that do not belong to `family`, shown as examples of a dtype failure."""
    values = series.dropna()
    if family == "datetime":
        return values.iloc[:0]
    return values[~values.map(lambda v: _fits_value(v, family)).astype(bool)]
