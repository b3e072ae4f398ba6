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
import pyarrow as pa

from shipyard.core.results import CheckResult, Report
from shipyard.data._columns import (
    Counts,
    count_column,
    is_unique,
    judge_columns,
    merge_counts,
    parse_text_dates,
    structural_checks,
    wrong_dtypes,
)
from shipyard.data._examples import Hits
from shipyard.data._failures import dtype_counts, not_dates, repeats, unexpected_column, wrong_dtype
from shipyard.data._labels import count_labels, merge_class_counts
from shipyard.data.partitions import Executor, Partition, PartitionedData, map_partitions
from shipyard.data.schema import Schema
from shipyard.data.validation import (
    check_rules,
    check_volume,
    duplicated_rows,
    first_copies,
    judge_duplicates,
    label_categories,
    label_results,
    no_rows,
)

_ALL_ROWS = 1 << 62  # one batch per row group


@dataclass(frozen=True)
class _Piece:
    """One partition of the data set: where it is, its columns' Arrow schema, its first row's position."""

    partition: Partition
    schema: pa.Schema
    offset: int

    def frame(self) -> pd.DataFrame:
        batches = list(self.partition.batches(self.schema.names, _ALL_ROWS))
        # The batches keep the file's pandas metadata (nullable dtypes); the footer schema has none.
        table = pa.Table.from_batches(batches) if batches else self.schema.empty_table()
        frame = table.to_pandas()
        frame.index = self.frame_index()
        return frame

    def frame_index(self) -> pd.RangeIndex:
        """The labels of the partition's rows: their positions in the whole data set."""
        return pd.RangeIndex(self.offset, self.offset + self.partition.rows)


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


def _hashes(values: pd.DataFrame | pd.Series) -> np.ndarray | None:
    try:
        return pd.util.hash_pandas_object(values, index=False).to_numpy()
    except TypeError:
        return None


def _count(piece: _Piece, schema: Schema, task: str) -> _Counts:
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
            hashes = _hashes(present)
            if hashes is not None:
                unique[column.name] = pd.Series(hashes, index=present.index)
    return _Counts(repeated, bad_dates, dtypes, failures, columns, labels, _hashes(df), unique)


def _fetch(
    piece: _Piece, schema: Schema, rows: np.ndarray, unique: dict[str, np.ndarray]
) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """The second pass: the rows labelled `rows`, and each unique column's values at its labels."""
    df, _ = first_copies(piece.frame())
    parsed = parse_text_dates(df, schema)[0] if unique else df
    return df.loc[rows], {name: parsed.loc[labels, name] for name, labels in unique.items()}


def _repeated_hashes(hashes: list[pd.Series]) -> list[np.ndarray]:
    """Per partition, the row labels whose hash occurs more than once in the whole data set."""
    joined = pd.concat(hashes)
    repeated = joined[joined.duplicated(keep=False)]
    return [part.index[part.isin(repeated.to_numpy())].to_numpy() for part in hashes]


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


def _across(
    pieces: list[_Piece], parts: list[_Counts], schema: Schema, executor: Executor
) -> tuple[Hits | None, list[CheckResult]]:
    """Duplicate rows and repeated values of unique columns across all partitions, exactly."""
    rows = (
        None
        if any(p.row_hashes is None for p in parts)
        else _repeated_hashes(
            [
                pd.Series(p.row_hashes, index=piece.frame_index())
                for piece, p in zip(pieces, parts, strict=True)
            ]
        )
    )
    names = [c.name for c in schema.columns if all(c.name in p.unique_hashes for p in parts)]
    unique = {name: _repeated_hashes([p.unique_hashes[name] for p in parts]) for name in names}
    wanted = [
        (
            piece,
            np.array([] if rows is None else rows[i]),
            {n: unique[n][i] for n in names if len(unique[n][i])},
        )
        for i, piece in enumerate(pieces)
    ]
    fetched = map_partitions(
        _fetch_wanted, [w for w in wanted if len(w[1]) or w[2]], schema, executor=executor
    )
    total = sum(piece.partition.rows for piece in pieces)
    duplicates = None
    if rows is not None:
        candidates = pd.concat([f[0] for f in fetched]) if fetched else pd.DataFrame()
        flagged = candidates.index[duplicated_rows(candidates)] if len(candidates) else pd.Index([])
        duplicates = Hits.of(flagged.to_series(), total)
    failures = []
    for name in names:
        values = [f[1][name] for f in fetched if name in f[1]]
        if values:
            joined = pd.concat(values)
            shared = joined[joined.duplicated(keep=False)]
            if len(shared):
                failures.append(repeats(shared.reset_index(drop=True), name))
    return duplicates, failures


def _fetch_wanted(
    wanted: tuple[_Piece, np.ndarray, dict[str, np.ndarray]], schema: Schema
) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """`_fetch` of one (partition, rows, unique columns' labels), as `map_partitions` passes it."""
    piece, rows, unique = wanted
    return _fetch(piece, schema, rows, unique)


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
    pieces = [_Piece(p, data.schema, int(o)) for p, o in zip(data.partitions, offsets, strict=False)]
    parts = map_partitions(_count, pieces, schema, task, executor=executor)
    duplicates, repeated_values = _across(pieces, parts, schema, executor)
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
