"""The model's input example as MLflow can read it: every pandas and Arrow dtype a Parquet file holds.

MLflow's signature inference and input-example writer know NumPy dtypes and plain
objects; a `category` column ("Can not safely convert category to <U0"), a decimal
column (`Decimal` is not JSON serializable) or a nullable extension dtype crash
`save_model`. The model itself still predicts on the data as it was read: only
what MLflow records, and what is passed to a model loaded through MLflow (as a
server's JSON would arrive), is converted: nullable ints and booleans become floats
(NaN for null), categories their values, decimals floats, time zones UTC.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from pandas.api import types


def _plain(series: pd.Series) -> pd.Series:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _plain(series.astype(dtype.categories.dtype))
    if isinstance(dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC").dt.tz_localize(None)
    if types.is_bool_dtype(dtype) or types.is_integer_dtype(dtype) or types.is_float_dtype(dtype):
        if not isinstance(dtype, pd.api.extensions.ExtensionDtype):
            return series
        # A nullable dtype may hold nulls in any later batch: MLflow's `long` and `boolean`
        # refuse them, its `double` takes them as NaN.
        return series.astype("float64")
    if types.is_string_dtype(dtype) and not types.is_object_dtype(dtype):
        return series.astype(object).where(series.notna(), None)
    if types.is_object_dtype(dtype):
        present = series.dropna()
        if len(present) and all(isinstance(v, Decimal) for v in present):
            return series.astype("float64")
    return series


def mlflow_example(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with each column in a dtype MLflow's signature and example writers accept."""
    return pd.DataFrame({name: _plain(frame[name]) for name in frame.columns}, index=frame.index)
