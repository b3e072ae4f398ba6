"""Validate a data set against its schema and the data rules of `shipyard.yaml`.

Every check runs and reports (lazy validation): volume, then the column checks
of the schema (run by pandera), then duplicate rows, label validity and class
balance. A failing check returns a failed `CheckResult`, never an exception;
`Report.raise_for_status()` turns a failing report into `DataValidationError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shipyard.core.params import NONE, Interval, Options, validate_params
from shipyard.core.results import CheckResult, Reason, Report, Severity, Status
from shipyard.core.tasks import TASKS
from shipyard.data._allowances import verdict
from shipyard.data._columns import check_columns
from shipyard.data._examples import Hits, describe, example_values, percent, plural
from shipyard.data._failures import result
from shipyard.data._labels import count_labels, judge_classes, judge_label_values
from shipyard.data.schema import Schema
from shipyard.errors import ConfigError

_CONSTRAINTS: dict[str, list[Any]] = {
    "task": [Options(frozenset(TASKS))],
    "min_rows": [Interval(int, 0, None)],
    "max_rows": [Interval(int, 1, None), NONE],
    "max_duplicate_fraction": [Interval(float, 0, 1)],
    "min_class_fraction": [Interval(float, 0, 0.5)],
}


def check_volume(rows: int, min_rows: int, max_rows: int | None) -> CheckResult:
    expected = f">= {min_rows}" if max_rows is None else f"in [{min_rows}, {max_rows}]"
    fields: dict[str, Any] = {"observed": rows, "expected": expected}
    if rows == 0:
        return result(
            "volume",
            Status.FAILED,
            "The data has no rows.",
            "Check 'data.source' or the loader in shipyard.yaml, and the job that writes the data.",
            reason=Reason.EMPTY_DATA,
            **fields,
        )
    if rows < min_rows:
        return result(
            "volume",
            Status.FAILED,
            f"The data has {rows} rows, fewer than the minimum {min_rows} ('data.min_rows').",
            "Check that the export or batch is complete; if batches this small are expected, "
            "lower 'data.min_rows' in shipyard.yaml.",
            reason=Reason.TOO_FEW_ROWS,
            **fields,
        )
    if max_rows is not None and rows > max_rows:
        return result(
            "volume",
            Status.FAILED,
            f"The data has {rows} rows, more than the maximum {max_rows}.",
            "Look for a repeated export or a join that multiplies rows, or raise 'data.max_rows' "
            "in shipyard.yaml.",
            reason=Reason.TOO_MANY_ROWS,
            **fields,
        )
    return result("volume", Status.PASSED, f"The data has {plural(rows, 'row')} ({expected}).", **fields)


def duplicated_rows(df: pd.DataFrame) -> pd.Series:
    """`df.duplicated()`, several times faster on large frames with few duplicates.

    Equal rows hash equal, so only rows whose hash repeats need the exact comparison.
    """
    hashes = pd.util.hash_pandas_object(df, index=False).to_numpy()
    candidates = pd.Series(hashes).duplicated(keep=False).to_numpy()
    duplicated = np.zeros(len(df), dtype=bool)
    duplicated[candidates] = df[candidates].duplicated().to_numpy()
    return pd.Series(duplicated, index=df.index)


def duplicate_rows(df: pd.DataFrame) -> Hits | None:
    """The rows (index labels) that repeat an earlier row, out of all rows; None when some cells
    are unhashable (lists, dicts read from Parquet)."""
    try:
        duplicated = duplicated_rows(df)
    except TypeError:
        return None
    return Hits.of(df.index[duplicated].to_series(), len(df))


def judge_duplicates(found: Hits | None, max_fraction: float) -> CheckResult:
    """The duplicate-rows result of what `duplicate_rows` found."""
    if found is None:
        return result(
            "duplicate_rows",
            Status.SKIPPED,
            "Duplicate rows were not checked: some cells hold unhashable values (lists, dicts).",
        )
    count, rows = found.count, found.total
    share = count / rows
    fields: dict[str, Any] = {"observed": count, "expected": f"<= {percent(max_fraction)} of rows"}
    # Above the allowance by what chance explains in a small batch, it warns.
    outcome = verdict(count, rows, max_fraction)
    if outcome != "pass":
        return result(
            "duplicate_rows",
            Status.FAILED,
            f"{count} of {rows} rows ({percent(share)}) repeat an earlier row, more than "
            f"the {percent(max_fraction)} allowed{describe(found.first, noun='row')}.",
            "Remove the duplicates at the source, or raise 'data.max_duplicate_fraction' in shipyard.yaml.",
            reason=Reason.DUPLICATE_ROWS,
            severity=Severity.FAIL if outcome == "fail" else Severity.WARN,
            examples=example_values(found.first),
            **fields,
        )
    return result(
        "duplicate_rows",
        Status.PASSED,
        f"{count} of {rows} rows ({percent(share)}) repeat an earlier row; "
        f"{percent(max_fraction)} is allowed.",
        **fields,
    )


def check_rules(schema: Schema, *, target: str, **rules: Any) -> None:
    """Raise `ConfigError` for a bad data rule, or a `target` that is not the schema's target."""
    validate_params("validate", _CONSTRAINTS, rules)
    if target != schema.target:
        raise ConfigError(
            f"The target '{target}' does not match the schema's target '{schema.target}'. Fix "
            "'data.target' in shipyard.yaml, or run 'shipyard schema infer' again."
        )


def no_rows() -> CheckResult:
    """The result that stands for every check but volume when the data has no rows."""
    return result(
        "columns", Status.SKIPPED, "Column, duplicate and label checks were skipped: the data has no rows."
    )


def label_results(
    target: str,
    found: tuple[dict[str, Hits], pd.Series] | None,
    *,
    task: str,
    schema: Schema,
    min_class_fraction: float,
) -> list[CheckResult]:
    """The label checks from `count_labels` and the class counts; `found` is None when the target
    column is missing."""
    if found is None:
        return [
            result(
                "label_values",
                Status.SKIPPED,
                f"Label checks were skipped: the target column '{target}' is missing.",
                subject=target,
            )
        ]
    labels, classes = found
    results = judge_label_values(target, labels, label_categories(schema, task))
    if task == "classification":
        results.append(judge_classes(target, classes, min_class_fraction))
    return results


def label_categories(schema: Schema, task: str) -> tuple[Any, ...] | None:
    """The labels a classification target may take; None (any) for regression."""
    return schema.column(schema.target).categories if task == "classification" else None


def validate(
    df: pd.DataFrame,
    schema: Schema,
    *,
    target: str,
    task: str,
    min_rows: int = 1,
    max_rows: int | None = None,
    max_duplicate_fraction: float = 0.01,
    min_class_fraction: float = 0.001,
) -> Report:
    """Check `df` against `schema` and the data rules; return a `Report` of kind `data`.

    Every failure is collected. Data with no rows fails the volume check and
    skips the rest. Raises `ConfigError` only for bad arguments, or when `target`
    is not the schema's target.
    """
    check_rules(
        schema,
        target=target,
        task=task,
        min_rows=min_rows,
        max_rows=max_rows,
        max_duplicate_fraction=max_duplicate_fraction,
        min_class_fraction=min_class_fraction,
    )
    results = [check_volume(len(df), min_rows, max_rows)]
    if len(df) == 0:
        return Report.of("data", [*results, no_rows()])
    df, repeated = first_copies(df)
    results += check_columns(df, schema, task=task, repeated=repeated)
    results.append(judge_duplicates(duplicate_rows(df), max_duplicate_fraction))
    found = None
    if target in df.columns:
        labels = df[target]
        found = (count_labels(labels, label_categories(schema, task)), labels.dropna().value_counts())
    results += label_results(target, found, task=task, schema=schema, min_class_fraction=min_class_fraction)
    return Report.of("data", results)


def first_copies(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """`df` with only the first of each repeated column name, and the repeated names' copies."""
    copies = df.columns[df.columns.duplicated()].unique()
    repeated = {str(name): int((df.columns == name).sum()) for name in copies}
    return df.loc[:, ~df.columns.duplicated()], repeated
