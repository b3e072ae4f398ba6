"""Dtype families: the coarse column types a schema records, and which pandas dtypes fit each.

A schema says `float`, not `float64`: a CSV and a Parquet file of the same data
differ in width, nullability and string storage, and none of that should fail a
check. A string column may arrive as `object`, `str` (pandas 3) or `category`; a
decimal column (Arrow `decimal128`) arrives as `object` holding `Decimal`s and is a float.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Literal, get_args

import numpy as np
import pandas as pd
from pandas.api import types

DtypeFamily = Literal["int", "float", "bool", "category", "string", "datetime"]
FAMILIES: tuple[str, ...] = get_args(DtypeFamily)
NUMERIC: frozenset[str] = frozenset({"int", "float"})
TEXT: frozenset[str] = frozenset({"category", "string"})
BOUNDED: frozenset[str] = frozenset({"int", "float", "datetime"})


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
