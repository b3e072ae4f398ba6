"""Column checks of a `Schema`: pandera for presence, dtype and uniqueness; batch statistics for the rest.

Each `ColumnSchema` becomes a pandera `Column` (a dtype-family check and uniqueness),
run lazily so every failure is collected; each pandera `SchemaError` becomes one
failed `CheckResult`. Nulls, ranges and categories are judged by `_batch_checks`,
which knows a batch is a sample: it warns on what chance explains and fails on what
it does not. Every check id that found nothing blocking gets one passed row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.config import ValidationDepth, config_context
from pandera.engines import pandas_engine
from pandera.errors import SchemaError, SchemaErrors

from shipyard.core.results import CheckResult, Status
from shipyard.data._batch_checks import (
    count_categories,
    count_nulls,
    count_range,
    judge_categories,
    judge_nulls,
    judge_range,
)
from shipyard.data._dtypes import family_of, fits_family, parse_dates
from shipyard.data._examples import Hits, plural
from shipyard.data._failures import not_comparable, not_dates, translate, unexpected_column
from shipyard.data.schema import ColumnSchema, Schema

# Check ids in the order their results are listed.
_CHECKS = (
    "column_presence",
    "column_dtype",
    "column_nulls",
    "column_range",
    "column_categories",
    "column_unique",
)
_PASSED = {
    "column_presence": "All schema columns are present, and no others ({cols}).",
    "column_dtype": "Dtypes match the schema ({cols}).",
    "column_nulls": "Nulls are within the schema's allowance ({cols}).",
    "column_range": "All values are within the schema range ({cols}).",
    "column_categories": "Values not seen in the reference data are within the allowance ({cols}).",
    "column_unique": "No repeated values in unique columns ({cols}).",
}


@dataclass(frozen=True)
class _FamilyDtype(pandas_engine.DataType):
    """A pandera dtype that accepts every pandas dtype of one schema family."""

    family: str
    type: Any = field(default=np.dtype(object), repr=False, init=False)

    def check(self, pandera_dtype: Any, data_container: Any = None) -> bool:
        return data_container is not None and fits_family(data_container, self.family)

    def __str__(self) -> str:
        return self.family


def _run_pandera(df: pd.DataFrame, schema: pa.DataFrameSchema) -> list[SchemaError]:
    # Pin pandera's switches: its environment variables could otherwise turn validation off.
    with config_context(
        validation_enabled=True,
        validation_depth=ValidationDepth.SCHEMA_AND_DATA,
        use_narwhals_backend=False,
    ):
        try:
            schema.validate(df, lazy=True, inplace=True)
        except SchemaErrors as exc:
            return list(exc.schema_errors)
    return []


def parse_text_dates(df: pd.DataFrame, schema: Schema) -> tuple[pd.DataFrame, dict[str, Hits]]:
    """Text columns the schema records as datetime, parsed; a column with values that are no ISO
    date stays text, and its bad values are returned by column name."""
    bad_values, parsed = {}, {}
    for column in schema.columns:
        if column.dtype != "datetime" or column.name not in df.columns:
            continue
        series = df[column.name]
        if family_of(series) not in ("string", "category"):
            continue
        dates = parse_dates(series)
        bad = series[series.notna() & dates.isna()]
        if len(bad):
            bad_values[column.name] = Hits.of(bad, len(series))
        else:
            parsed[column.name] = dates
    return (df.assign(**parsed) if parsed else df), bad_values


Counts = dict[str, Any]
"""One column's counts by check id: `Hits` of nulls and unseen categories, a dict of `Hits` per
range bound, or the failed result of values that cannot be compared with the schema."""


def count_column(series: pd.Series, column: ColumnSchema, *, is_target: bool, task: str) -> Counts:
    """The counts the null, range and category checks of one column judge; one key per check
    that applies to the column."""
    counts: Counts = {}
    if not is_target:
        counts["column_nulls"] = count_nulls(series)
    if (not is_target or task == "regression") and (column.minimum, column.maximum) != (None, None):
        try:
            counts["column_range"] = count_range(series, column)
        except TypeError as exc:  # e.g. time zones differ
            counts["column_range"] = not_comparable(series, column.name, "column_range", exc)
    if column.categories is not None and not is_target:
        try:
            counts["column_categories"] = count_categories(series, column)
        except TypeError as exc:
            counts["column_categories"] = not_comparable(series, column.name, "column_categories", exc)
    return counts


def merge_counts(first: Counts, second: Counts) -> Counts:
    """The counts of two consecutive parts of a column; a part's failed result stands for both."""

    def merge(a: Any, b: Any) -> Any:
        if isinstance(a, CheckResult) or isinstance(b, CheckResult):
            return a if isinstance(a, CheckResult) else b
        if isinstance(a, Hits):
            return a.merge(b)
        return {key: a[key].merge(b[key]) for key in a}

    return {check: merge(first[check], second[check]) for check in first}


def _judge_column(counts: Counts, column: ColumnSchema, *, reference_rows: int) -> list[CheckResult]:
    results: list[CheckResult | None] = []
    for check, found in counts.items():
        if isinstance(found, CheckResult):
            results.append(found)
        elif check == "column_nulls":
            results.append(judge_nulls(found, column))
        elif check == "column_range":
            results += judge_range(found, column, reference_rows=reference_rows)
        else:
            results.append(judge_categories(found, column))
    return [r for r in results if r is not None]


def structural_checks(
    df: pd.DataFrame, schema: Schema, *, unique: bool = True
) -> tuple[pd.DataFrame, dict[str, Hits], list[CheckResult]]:
    """Presence, dtype and (with `unique`) uniqueness of the columns, run by pandera, after text
    date columns are parsed: (the frame with dates parsed, the values of text date columns that
    are no dates, pandera's failures but for those columns' dtype)."""
    df, bad_dates = parse_text_dates(df, schema)
    columns: dict[str, pa.Column] = {}
    for column in schema.columns:
        columns[column.name] = pa.Column(
            _FamilyDtype(column.dtype),
            nullable=True,
            unique=unique and is_unique(column, schema),
            name=column.name,
        )
    errors = _run_pandera(df, pa.DataFrameSchema(columns, strict=True, coerce=False))
    translated = [f for f in (translate(e, df) for e in errors) if f is not None]
    # A text date column that did not parse says so with its bad values (`not_dates`).
    return (
        df,
        bad_dates,
        [f for f in translated if not (f.check == "column_dtype" and f.subject in bad_dates)],
    )


def is_unique(column: ColumnSchema, schema: Schema) -> bool:
    """Whether the column's values must be unique (never the target's)."""
    return column.unique and column.name != schema.target


def wrong_dtypes(failures: list[CheckResult]) -> set[str]:
    """Columns of the wrong dtype: they report that alone, as comparing their values with the
    schema's bounds and categories says nothing more."""
    return {str(f.subject) for f in failures if f.check == "column_dtype"}


def judge_columns(
    failures: list[CheckResult], counts: dict[str, Counts], schema: Schema
) -> list[CheckResult]:
    """The structural `failures` and the judged `counts` of each column: failures and warnings
    first, then one passed row per check that nothing blocked."""
    applies: Counter[str] = Counter(column_presence=len(schema.columns))
    for column in schema.columns:
        applies.update(["column_dtype"] + ["column_unique"] * is_unique(column, schema))
        if column.name in counts:
            applies.update(counts[column.name].keys())
            failures = failures + _judge_column(counts[column.name], column, reference_rows=schema.rows)
    order = {name: i for i, name in enumerate(schema.names)}
    failed = sorted(failures, key=lambda f: (_CHECKS.index(f.check), order.get(f.subject, len(order))))
    blocked = {f.check for f in failed if f.blocking}
    passed = [
        CheckResult(
            check=check,
            status=Status.PASSED,
            message=_PASSED[check].format(cols=plural(applies[check], "column")),
            observed=0,
            evidence={"columns": applies[check]},
        )
        for check in _CHECKS
        if applies[check] and check not in blocked
    ]
    return failed + passed


def check_columns(
    df: pd.DataFrame, schema: Schema, *, task: str, repeated: dict[str, int] | None = None
) -> list[CheckResult]:
    """Check each column of `df` against `schema`: failures and warnings first, then one passed
    row per check that nothing blocked.

    `repeated` maps column names the data repeats to their number of copies; `df`
    holds only the first copy of each.
    """
    copies = [unexpected_column(name, n) for name, n in (repeated or {}).items()]
    df, bad_dates, found = structural_checks(df, schema)
    failures = [not_dates(values, name) for name, values in bad_dates.items()] + found
    wrong = wrong_dtypes(failures)
    counts = {
        column.name: count_column(df[column.name], column, is_target=column.name == schema.target, task=task)
        for column in schema.columns
        if column.name in df.columns and column.name not in wrong
    }
    return judge_columns(copies + failures, counts, schema)
