"""Pandera's errors read back as Shipyard results: one failed `CheckResult` per (check, column).

Every message names the column, the count and a few examples, then says what to do:

    Column 'amount' has 12 values above the schema maximum 50000.0 (e.g. 61234.5, 99000.0).
    If the new range is expected, re-infer the schema from the reference data
    (`shipyard schema infer --data <reference>`) and review the diff.

A batch is checked against a schema inferred from the reference data, so the fix is
never to infer it again from the batch under test.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pandera.errors import SchemaError, SchemaErrorReason

from shipyard.core.results import CheckResult, Reason, Status
from shipyard.data._dtypes import misfits
from shipyard.data._examples import Hits, describe, example_values, plural

REINFER = (
    "re-infer the schema from the reference data (`shipyard schema infer --data <reference>`, "
    "never from the batch under test) and review the diff"
)


def result(check: str, status: Status, message: str, hint: str = "", **fields: Any) -> CheckResult:
    """A result whose message ends with the hint (what to do next), so the message reads alone."""
    text = f"{message} {hint}" if hint else message
    return CheckResult(check=check, status=status, message=text, hint=hint, **fields)


def failure(check: str, column: str, reason: Reason, statement: str, hint: str, **fields: Any) -> CheckResult:
    """A failed result of a column check."""
    return result(check, Status.FAILED, statement, hint, subject=column, reason=reason, **fields)


def missing_column(name: str) -> CheckResult:
    return failure(
        "column_presence",
        name,
        Reason.MISSING_COLUMN,
        f"Column '{name}' is missing (expected by schema.yaml).",
        f"Add it to the data, or if it was dropped on purpose, {REINFER}.",
        observed=0,
        expected=1,
    )


def unexpected_column(name: str, copies: int = 1) -> CheckResult:
    """A column the schema does not have, or (`copies` > 1) a column name the data repeats.

    `observed` and `expected` count the columns of that name.
    """
    if copies > 1:
        statement = f"Column '{name}' appears {copies} times; the schema expects it once."
        hint = "Rename or drop the copies in the loader; only the first one was checked."
    else:
        statement = f"Column '{name}' is not in the schema."
        hint = f"Drop it from the data, or to keep it, {REINFER}."
    return failure(
        "column_presence",
        name,
        Reason.UNEXPECTED_COLUMN,
        statement,
        hint,
        observed=copies,
        expected=0 if copies == 1 else 1,
    )


def wrong_dtype(dtype: str, column: str, family: str, odd: Hits, present: Hits) -> CheckResult:
    """A column of dtype `dtype` where the schema expects `family`: `odd` are its values that do
    not belong to the family (`misfits`), `present` its non-null values, shown when none is odd."""
    shown = odd.first if odd.count else present.first
    return failure(
        "column_dtype",
        column,
        Reason.WRONG_DTYPE,
        f"Column '{column}' has dtype {dtype}, expected {family}{describe(shown)}.",
        f"Fix how the data is written or read, or if the type changed on purpose, {REINFER}.",
        observed=dtype,
        expected=family,
        examples=example_values(shown),
        evidence={"rows": odd.count},
    )


def dtype_counts(series: pd.Series, family: str) -> tuple[Hits, Hits]:
    """What `wrong_dtype` shows of a column: its values that misfit `family`, and its non-null values."""
    present = series.dropna()
    return Hits.of(misfits(series, family), len(present)), Hits.of(present, len(series))


def repeats(values: pd.Series, column: str) -> CheckResult:
    return failure(
        "column_unique",
        column,
        Reason.DUPLICATE_VALUES,
        f"Column '{column}' has {len(values)} rows sharing a value, but the schema says its "
        f"values are unique{describe(values)}.",
        "Remove the duplicates at the source, or set 'unique: false' for this column in schema.yaml.",
        observed=len(values),
        expected="unique values",
        examples=example_values(values),
    )


def not_comparable(series: pd.Series, column: str, check: str, error: object) -> CheckResult:
    """A column whose values cannot be compared with its schema range or categories."""
    what = "categories" if check == "column_categories" else "range"
    return failure(
        check,
        column,
        Reason.WRONG_DTYPE,
        f"Column '{column}' (dtype {series.dtype}) cannot be compared with its schema {what}: {error}.",
        f"Make its type match schema.yaml (e.g. the same time zone), or {REINFER}.",
        observed=str(series.dtype),
    )


def not_dates(values: Hits, column: str) -> CheckResult:
    """Text in a date-time column that is no ISO-8601 date."""
    return failure(
        "column_dtype",
        column,
        Reason.WRONG_DTYPE,
        f"Column '{column}' has {plural(values.count, 'value')} that are not ISO-8601 dates, "
        f"expected datetime{describe(values.first)}.",
        f"Write dates as ISO-8601 text (2026-01-31 or 2026-01-31T14:05:00Z) or as a date-time "
        f"type, or if the type changed on purpose, {REINFER}.",
        observed=values.count,
        expected="datetime",
        examples=example_values(values.first),
    )


def translate(error: SchemaError, df: pd.DataFrame) -> CheckResult | None:
    """One pandera error as one failed result, or None when it is no failure of ours."""
    code, cases = error.reason_code, error.failure_cases
    if code is SchemaErrorReason.COLUMN_NOT_IN_DATAFRAME:
        return missing_column(str(cases))
    if code is SchemaErrorReason.COLUMN_NOT_IN_SCHEMA:
        return unexpected_column(str(cases))
    column = str(error.schema.name)
    if code is SchemaErrorReason.WRONG_DATATYPE:
        family = str(error.schema.dtype)
        return wrong_dtype(str(df[column].dtype), column, family, *dtype_counts(df[column], family))
    if code is SchemaErrorReason.SERIES_CONTAINS_DUPLICATES:
        # Pandera counts repeated nulls as duplicates but lists no case for them;
        # nulls are the null check's business.
        return repeats(cases["failure_case"], column) if len(cases) else None
    return None
