"""Pandera's errors read back as Shipyard results: one failed `CheckResult` per (check, column).

Every message names the column, the count and a few examples, then says what to do:

    Column 'amount' has 12 values above the schema maximum 50000.0 (e.g. 61234.5, 99000.0).
    If the new range is expected, run 'shipyard schema infer' and review the diff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from pandera.errors import SchemaError, SchemaErrorReason

from shipyard.core.results import CheckResult, Reason, Status
from shipyard.data._dtypes import misfits
from shipyard.data._examples import describe, example_values, plural

REINFER = "run 'shipyard schema infer' and review the diff"


@dataclass(frozen=True)
class Rule:
    """What one pandera `Check` of a column stands for: a bound or the allowed categories."""

    check: str
    reason: Reason
    bound: Any


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


def _wrong_dtype(series: pd.Series, column: str, family: str) -> CheckResult:
    odd = misfits(series, family)
    shown = odd if len(odd) else series.dropna()
    return failure(
        "column_dtype",
        column,
        Reason.WRONG_DTYPE,
        f"Column '{column}' has dtype {series.dtype}, expected {family}{describe(shown)}.",
        f"Fix how the data is written or read, or if the type changed on purpose, {REINFER}.",
        observed=str(series.dtype),
        expected=family,
        examples=example_values(shown),
        evidence={"rows": len(odd)},
    )


def _nulls(rows: pd.Series, column: str) -> CheckResult:
    return failure(
        "column_nulls",
        column,
        Reason.NULL_VALUES,
        f"Column '{column}' has {plural(len(rows), 'null value')}, but the schema does not "
        f"allow nulls{describe(rows, noun='row')}.",
        "Fill or drop them at the source, or if nulls are expected, set 'nullable: true' "
        "for this column in schema.yaml.",
        observed=len(rows),
        expected="no nulls",
        examples=example_values(rows),
    )


def _repeats(values: pd.Series, column: str) -> CheckResult:
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


def _out_of_rule(values: pd.Series, column: str, rule: Rule) -> CheckResult:
    count = plural(len(values), "value")
    if rule.reason is Reason.UNSEEN_CATEGORY:
        statement = f"Column '{column}' has {count} not seen in the reference data"
        hint = f"If the new categories are expected, {REINFER}."
        expected = f"one of the {len(rule.bound)} categories in schema.yaml"
    else:
        below = rule.reason is Reason.BELOW_MINIMUM
        side = "below the schema minimum" if below else "above the schema maximum"
        statement = f"Column '{column}' has {count} {side} {rule.bound}"
        hint = f"If the new range is expected, {REINFER}."
        expected = f"{'>=' if below else '<='} {rule.bound}"
    return failure(
        rule.check,
        column,
        rule.reason,
        f"{statement}{describe(values)}.",
        hint,
        observed=len(values),
        expected=expected,
        examples=example_values(values),
    )


def _not_comparable(series: pd.Series, column: str, rule: Rule, error: object) -> CheckResult:
    return failure(
        rule.check,
        column,
        Reason.WRONG_DTYPE,
        f"Column '{column}' (dtype {series.dtype}) cannot be compared with its schema "
        f"{'categories' if rule.reason is Reason.UNSEEN_CATEGORY else 'range'}: {error}.",
        f"Make its type match schema.yaml (e.g. the same time zone), or {REINFER}.",
        observed=str(series.dtype),
    )


def translate(error: SchemaError, df: pd.DataFrame, rules: dict[str, list[Rule]]) -> CheckResult | None:
    """One pandera error as one failed result, or None when it is no failure of ours."""
    code, cases = error.reason_code, error.failure_cases
    if code is SchemaErrorReason.COLUMN_NOT_IN_DATAFRAME:
        return missing_column(str(cases))
    if code is SchemaErrorReason.COLUMN_NOT_IN_SCHEMA:
        return unexpected_column(str(cases))
    column = str(error.schema.name)
    if code is SchemaErrorReason.WRONG_DATATYPE:
        return _wrong_dtype(df[column], column, str(error.schema.dtype))
    if code is SchemaErrorReason.SERIES_CONTAINS_NULLS:
        return _nulls(cases["index"], column)
    if code is SchemaErrorReason.SERIES_CONTAINS_DUPLICATES:
        # Pandera counts repeated nulls as duplicates but lists no case for them;
        # nulls are the null check's business.
        return _repeats(cases["failure_case"], column) if len(cases) else None
    rule = rules[column][error.check_index]
    if code is SchemaErrorReason.CHECK_ERROR:
        return _not_comparable(df[column], column, rule, cases)
    return _out_of_rule(cases["failure_case"], column, rule)
