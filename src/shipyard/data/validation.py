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
from shipyard.data._examples import describe, example_values, percent, plural
from shipyard.data._failures import result
from shipyard.data._labels import check_classes, check_label_values
from shipyard.data.schema import Schema
from shipyard.errors import ConfigError

_CONSTRAINTS: dict[str, list[Any]] = {
    "task": [Options(frozenset(TASKS))],
    "min_rows": [Interval(int, 0, None)],
    "max_rows": [Interval(int, 1, None), NONE],
    "max_duplicate_fraction": [Interval(float, 0, 1)],
    "min_class_fraction": [Interval(float, 0, 0.5)],
}


def _check_volume(rows: int, min_rows: int, max_rows: int | None) -> CheckResult:
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


def _duplicated(df: pd.DataFrame) -> pd.Series:
    """`df.duplicated()`, several times faster on large frames with few duplicates.

    Equal rows hash equal, so only rows whose hash repeats need the exact comparison.
    """
    hashes = pd.util.hash_pandas_object(df, index=False).to_numpy()
    candidates = pd.Series(hashes).duplicated(keep=False).to_numpy()
    duplicated = np.zeros(len(df), dtype=bool)
    duplicated[candidates] = df[candidates].duplicated().to_numpy()
    return pd.Series(duplicated, index=df.index)


def _check_duplicates(df: pd.DataFrame, max_fraction: float) -> CheckResult:
    try:
        duplicated = _duplicated(df)
    except TypeError:  # unhashable cells, such as lists read from Parquet
        return result(
            "duplicate_rows",
            Status.SKIPPED,
            "Duplicate rows were not checked: some cells hold unhashable values (lists, dicts).",
        )
    count = int(duplicated.sum())
    share = count / len(df)
    fields: dict[str, Any] = {"observed": count, "expected": f"<= {percent(max_fraction)} of rows"}
    # Above the allowance by what chance explains in a small batch, it warns.
    outcome = verdict(count, len(df), max_fraction)
    if outcome != "pass":
        rows = df.index[duplicated].to_series()
        return result(
            "duplicate_rows",
            Status.FAILED,
            f"{count} of {len(df)} rows ({percent(share)}) repeat an earlier row, more than "
            f"the {percent(max_fraction)} allowed{describe(rows, noun='row')}.",
            "Remove the duplicates at the source, or raise 'data.max_duplicate_fraction' in shipyard.yaml.",
            reason=Reason.DUPLICATE_ROWS,
            severity=Severity.FAIL if outcome == "fail" else Severity.WARN,
            examples=example_values(rows),
            **fields,
        )
    return result(
        "duplicate_rows",
        Status.PASSED,
        f"{count} of {len(df)} rows ({percent(share)}) repeat an earlier row; "
        f"{percent(max_fraction)} is allowed.",
        **fields,
    )


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
    params = {
        "task": task,
        "min_rows": min_rows,
        "max_rows": max_rows,
        "max_duplicate_fraction": max_duplicate_fraction,
        "min_class_fraction": min_class_fraction,
    }
    validate_params("validate", _CONSTRAINTS, params)
    if target != schema.target:
        raise ConfigError(
            f"The target '{target}' does not match the schema's target '{schema.target}'. Fix "
            "'data.target' in shipyard.yaml, or run 'shipyard schema infer' again."
        )
    results = [_check_volume(len(df), min_rows, max_rows)]
    if len(df) == 0:
        results.append(
            result(
                "columns",
                Status.SKIPPED,
                "Column, duplicate and label checks were skipped: the data has no rows.",
            )
        )
        return Report.of("data", results)
    copies = df.columns[df.columns.duplicated()].unique()
    repeated = {str(name): int((df.columns == name).sum()) for name in copies}
    df = df.loc[:, ~df.columns.duplicated()]
    results += check_columns(df, schema, task=task, repeated=repeated)
    results.append(_check_duplicates(df, max_duplicate_fraction))
    if target not in df.columns:
        results.append(
            result(
                "label_values",
                Status.SKIPPED,
                f"Label checks were skipped: the target column '{target}' is missing.",
                subject=target,
            )
        )
        return Report.of("data", results)
    labels = df[target]
    results += check_label_values(
        labels, schema.column(target).categories if task == "classification" else None
    )
    if task == "classification":
        results.append(check_classes(labels.dropna(), min_class_fraction))
    return Report.of("data", results)
