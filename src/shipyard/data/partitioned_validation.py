"""Batch validation of partitioned Parquet: each partition counted alone, the counts merged, one verdict.

A partition (one file) is read into a frame, its rows labelled by their position in the
whole data set, and counted by the same functions the single-frame `validate` uses
(`count_column`, `count_labels`, the structural pandera checks); `Hits` of consecutive
partitions merge exactly, so the judged report is the single-frame report: the same
failures, severities, columns, observed values and examples.

Checks across partitions (duplicate rows, unique columns) merge exactly in two passes: each
partition returns a 64-bit hash per row (and per value of each unique column, with its row
label); the driver keeps those hashes (8 bytes a row: 80 MB for 10 million rows, plus the
working memory of pandas' `duplicated` while they are compared), finds the hashes seen more
than once, and a second pass fetches just those rows, which are compared value by value. Equal
rows hash equal, so nothing is missed, and a hash collision costs a comparison, never a verdict.

Values of the wrong dtype and text that is no date are counted in every partition where the
column fails; the dtype a message names is the first failing partition's (one frame of every
row shows pandas' common dtype of the parts). Other structural failures (a missing column) are
the same in every partition, as `open_partitions` checks: the first partition's stands.
A partition must fit in the memory of the process (or Ray task) that counts it; the driver
holds every partition's counts (a few examples per check and column) and the hashes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shipyard.core.results import CheckResult, Report
from shipyard.data._columns import (
    Counts,
    count_column,
    is_unique,
    judge_columns,
    merge_counts,
    structural_checks,
    wrong_dtypes,
)
from shipyard.data._examples import Hits
from shipyard.data._failures import dtype_counts, not_dates, unexpected_column, wrong_dtype
from shipyard.data._labels import count_labels, merge_class_counts
from shipyard.data._repeats import Piece, hashes, repeats_across
from shipyard.data.partitions import Executor, PartitionedData, map_partitions
from shipyard.data.schema import Schema
from shipyard.data.validation import (
    check_rules,
    check_volume,
    first_copies,
    judge_duplicates,
    label_categories,
    label_results,
    no_rows,
)


@dataclass(frozen=True)
class _Counts:
    """What one partition contributes: structural failures, column and label counts, row hashes."""

    repeated: dict[str, int]
    bad_dates: dict[str, Hits]
    wrong_dtypes: dict[str, tuple[str, Hits, Hits]]  # the dtype, its misfits, its non-null values
    failures: list[CheckResult]
    columns: dict[str, Counts]
    labels: tuple[dict[str, Hits], pd.Series] | None
    row_hashes: np.ndarray | None  # None: some cells are unhashable
    unique_hashes: dict[str, pd.Series]  # hash of each non-null value, by row label


def _count(piece: Piece, schema: Schema, task: str) -> _Counts:
    df, repeated = first_copies(piece.frame())
    parsed, bad_dates, failures = structural_checks(df, schema, unique=False)
    wrong = wrong_dtypes(failures) | set(bad_dates)
    families = {column.name: column.dtype for column in schema.columns}
    dtypes = {
        name: (str(parsed[name].dtype), *dtype_counts(parsed[name], families[name]))
        for name in wrong - set(bad_dates)
    }
    columns = {
        column.name: count_column(
            parsed[column.name], column, is_target=column.name == schema.target, task=task
        )
        for column in schema.columns
        if column.name in parsed.columns and column.name not in wrong
    }
    labels = None
    if schema.target in df.columns:
        values = df[schema.target]
        labels = (
            count_labels(values, label_categories(schema, task)),
            values.dropna().value_counts(sort=False),
        )
    unique = {}
    for column in schema.columns:
        if is_unique(column, schema) and column.name in parsed.columns:
            present = parsed[column.name].dropna()
            values = hashes(present)
            if values is not None:
                unique[column.name] = pd.Series(values, index=present.index)
    return _Counts(repeated, bad_dates, dtypes, failures, columns, labels, hashes(df), unique)


def _structural(parts: list[_Counts], schema: Schema) -> list[CheckResult]:
    """Text that is no date and values of the wrong dtype, merged over the partitions (a column's
    dtype is the first failing partition's); then each partition's other structural failures,
    where a (check, column) the first partition reported stands."""
    bad_dates: dict[str, Hits] = {}
    dtypes: dict[str, tuple[str, Hits, Hits]] = {}
    for part in parts:
        for name, values in part.bad_dates.items():
            bad_dates[name] = bad_dates[name].merge(values) if name in bad_dates else values
        for name, (dtype, odd, present) in part.wrong_dtypes.items():
            if name in dtypes:
                dtype, first_odd, first_present = dtypes[name]
                odd, present = first_odd.merge(odd), first_present.merge(present)
            dtypes[name] = (dtype, odd, present)
    seen: dict[tuple[str, str], CheckResult] = {
        ("column_dtype", name): not_dates(values, name) for name, values in bad_dates.items()
    }
    for name, (dtype, odd, present) in dtypes.items():
        seen.setdefault(
            ("column_dtype", name), wrong_dtype(dtype, name, schema.column(name).dtype, odd, present)
        )
    for part in parts:
        for failure in part.failures:
            seen.setdefault((failure.check, failure.subject), failure)
    return list(seen.values())


def _merged(parts: list[_Counts], wrong: set[str]) -> dict[str, Counts]:
    merged: dict[str, Counts] = {}
    for part in parts:
        for name, counts in part.columns.items():
            if name not in wrong:
                merged[name] = merge_counts(merged[name], counts) if name in merged else counts
    return merged


def validate_partitions(
    data: PartitionedData,
    schema: Schema,
    *,
    target: str,
    task: str,
    min_rows: int = 1,
    max_rows: int | None = None,
    max_duplicate_fraction: float = 0.01,
    min_class_fraction: float = 0.001,
    executor: Executor = "local",
) -> Report:
    """`validate` of the whole data set, counted per partition (in turn, or as Ray tasks with
    `executor="ray"`) and judged once from the merged counts: the single-frame report."""
    check_rules(
        schema,
        target=target,
        task=task,
        min_rows=min_rows,
        max_rows=max_rows,
        max_duplicate_fraction=max_duplicate_fraction,
        min_class_fraction=min_class_fraction,
    )
    results = [check_volume(data.rows, min_rows, max_rows)]
    if data.rows == 0:
        return Report.of("data", [*results, no_rows()])
    offsets = np.cumsum([0] + [p.rows for p in data.partitions])
    pieces = [Piece(p, data.schema, int(o)) for p, o in zip(data.partitions, offsets, strict=False)]
    parts = map_partitions(_count, pieces, schema, task, executor=executor)
    names = [c.name for c in schema.columns if all(c.name in p.unique_hashes for p in parts)]
    duplicates, repeated_values = repeats_across(
        pieces,
        [p.row_hashes for p in parts],
        {name: [p.unique_hashes[name] for p in parts] for name in names},
        schema,
        executor,
    )
    failures = _structural(parts, schema)
    copies = [unexpected_column(name, n) for name, n in parts[0].repeated.items()]
    results += judge_columns(
        copies + failures + repeated_values, _merged(parts, wrong_dtypes(failures)), schema
    )
    results.append(judge_duplicates(duplicates, max_duplicate_fraction))
    found = None
    if all(p.labels is not None for p in parts):
        labels = [p.labels for p in parts if p.labels is not None]
        merged = labels[0][0]
        for other, _ in labels[1:]:
            merged = {key: merged[key].merge(other[key]) for key in merged}
        found = (merged, merge_class_counts([counts for _, counts in labels]))
    results += label_results(target, found, task=task, schema=schema, min_class_fraction=min_class_fraction)
    return Report.of("data", results)
