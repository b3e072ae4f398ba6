"""The statistical column checks of a batch: nulls, range and unseen categories, with severities.

A clean batch from the same source as the reference data must pass: a few nulls where
the reference had none, a value a little beyond the seen range, a rare new category
are what sampling does, and they warn. A batch fails when a count is significantly
above what the reference allows (see `_allowances`), or when a value lies beyond the
bounds the schema widened from the reference's tail.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from shipyard.core.results import CheckResult, Reason, Severity
from shipyard.data._allowances import EXCEEDANCE_ALPHA, exceedance_pvalue, verdict
from shipyard.data._dtypes import numeric_values
from shipyard.data._examples import Hits, describe, example_values, percent, plural
from shipyard.data._failures import REINFER, failure
from shipyard.data.schema import ColumnSchema

_SEVERITY = {"warn": Severity.WARN, "fail": Severity.FAIL}


def count_nulls(series: pd.Series) -> Hits:
    """The rows (index labels) where the column is null, out of all rows."""
    return Hits.of(series.index[series.isna()].to_series(), len(series))


def judge_nulls(nulls: Hits, column: ColumnSchema) -> CheckResult | None:
    """Nulls beyond the column's allowance: warn, or fail when significantly above it."""
    count, rows, where = nulls.count, nulls.total, nulls.first
    allowance = column.null_allowance
    outcome = verdict(count, rows, allowance)
    if outcome == "pass":
        return None
    if column.max_null_fraction is None:
        statement = (
            f"Column '{column.name}' has {plural(count, 'null value')}, but the schema does not allow nulls"
        )
        hint = (
            "Fill or drop them at the source, or if nulls are expected, set 'nullable: true' "
            "or a 'max_null_fraction' for this column in schema.yaml."
        )
    else:
        statement = (
            f"Column '{column.name}' has {plural(count, 'null value')} in {plural(rows, 'row')} "
            f"({percent(count / rows)}), above the {percent(allowance)} the reference data allows"
            + (" by more than chance explains" if outcome == "fail" else "")
        )
        hint = (
            "Fill or drop them at the source; if the new null rate is expected, raise "
            "'max_null_fraction' for this column in schema.yaml and review the diff."
        )
    return failure(
        "column_nulls",
        column.name,
        Reason.NULL_VALUES,
        f"{statement}{describe(where, noun='row')}.",
        hint,
        severity=_SEVERITY[outcome],
        observed=count,
        expected=f"<= {percent(allowance)} of rows" if allowance else "no nulls",
        examples=example_values(where),
        evidence={"rows": rows, "allowance": allowance},
    )


def count_categories(series: pd.Series, column: ColumnSchema) -> Hits:
    """Values outside the schema's categories, out of the non-null values.

    Raises `TypeError` when the values cannot be compared with the categories.
    """
    present = series.dropna()
    return Hits.of(present[~present.isin(list(column.categories or ()))], len(present))


def judge_categories(unseen: Hits, column: ColumnSchema) -> CheckResult | None:
    """Values outside the seen categories, judged against the Good-Turing allowance."""
    if column.categories is None:
        return None
    allowance = column.max_unseen_fraction or 0.0
    outcome = verdict(unseen.count, unseen.total, allowance)
    if outcome == "pass":
        return None
    share = f"{percent(unseen.count / unseen.total)} of rows"
    statement = (
        f"Column '{column.name}' has {plural(unseen.count, 'value')} ({share}) not seen in the reference data"
    )
    if allowance:
        statement += f", above the {percent(allowance)} its rare categories predict"
    return failure(
        "column_categories",
        column.name,
        Reason.UNSEEN_CATEGORY,
        f"{statement}{describe(unseen.first)}.",
        f"If the new categories are expected, {REINFER}.",
        severity=_SEVERITY[outcome],
        observed=unseen.count,
        expected=f"one of the {len(column.categories)} categories in schema.yaml",
        examples=example_values(unseen.first),
        evidence={"rows": unseen.total, "allowance": allowance},
    )


def _values(series: pd.Series, column: ColumnSchema) -> pd.Series:
    present = series.dropna()
    return present if column.dtype == "datetime" else numeric_values(present)


def _beyond(values: pd.Series, bound: Any, *, below: bool) -> pd.Series:
    if bound is None:
        return values.iloc[:0]
    return values[values < bound] if below else values[values > bound]


def count_range(series: pd.Series, column: ColumnSchema) -> dict[str, Hits]:
    """Values beyond each bound ("far_below", "seen_below", "far_above", "seen_above"), out of
    the non-null values: the fail bounds (`minimum`, `maximum`) and the range the reference saw.

    Raises `TypeError` when the values cannot be compared with the bounds (time zones).
    """
    values = _values(series, column)
    bounds = {
        "far_below": column.minimum,
        "seen_below": column.observed_minimum,
        "far_above": column.maximum,
        "seen_above": column.observed_maximum,
    }
    return {
        name: Hits.of(_beyond(values, bound, below=name.endswith("below")), len(values))
        for name, bound in bounds.items()
    }


def _far(column: ColumnSchema, values: Hits, *, below: bool) -> CheckResult:
    bound = column.minimum if below else column.maximum
    seen = column.observed_minimum if below else column.observed_maximum
    side = "below the schema minimum" if below else "above the schema maximum"
    extreme = "lowest" if below else "highest"
    reached = f"; the reference data's {extreme} was {seen}" if seen is not None else ""
    return failure(
        "column_range",
        column.name,
        Reason.BELOW_MINIMUM if below else Reason.ABOVE_MAXIMUM,
        f"Column '{column.name}' has {plural(values.count, 'value')} {side} {bound}{reached}"
        f"{describe(values.first)}.",
        f"If the new range is expected, {REINFER}.",
        observed=values.count,
        expected=f"{'>=' if below else '<='} {bound}",
        examples=example_values(values.first),
    )


def _outside_seen(column: ColumnSchema, values: Hits, *, below: bool, reference: int) -> CheckResult:
    seen = column.observed_minimum if below else column.observed_maximum
    p_value = exceedance_pvalue(values.count, values.total, reference)
    fails = p_value < EXCEEDANCE_ALPHA
    side = "below the lowest" if below else "above the highest"
    statement = (
        f"Column '{column.name}' has {plural(values.count, 'value')} {side} value seen in the "
        f"reference data ({seen})"
    )
    if fails:
        statement += f": more than chance explains (p = {p_value:.2g}), the distribution has moved"
    return failure(
        "column_range",
        column.name,
        Reason.BELOW_MINIMUM if below else Reason.ABOVE_MAXIMUM,
        f"{statement}{describe(values.first)}.",
        f"Check the source for a unit or scale change; if the new range is expected, {REINFER}.",
        severity=Severity.FAIL if fails else Severity.WARN,
        observed=values.count,
        expected=f"{'>=' if below else '<='} {seen}",
        examples=example_values(values.first),
        evidence={"p_value": p_value, "rows": values.total, "reference_rows": reference},
    )


def judge_range(beyond: dict[str, Hits], column: ColumnSchema, *, reference_rows: int) -> list[CheckResult]:
    """Values beyond the fail bounds fail; beyond the seen range they warn, or fail when too many."""
    results = []
    reference = round(reference_rows * (1 - min(column.null_allowance, 1.0)))
    for side in ("below", "above"):
        below = side == "below"
        if beyond[f"far_{side}"].count:
            results.append(_far(column, beyond[f"far_{side}"], below=below))
        elif beyond[f"seen_{side}"].count:
            results.append(_outside_seen(column, beyond[f"seen_{side}"], below=below, reference=reference))
    return results
