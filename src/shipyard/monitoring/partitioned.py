"""Drift summaries and reference profiles of partitioned data, one partition at a time, merged.

Each partition is summarised alone (here, or as a Ray task when the executor is `ray`)
with memory bounded by one of its row groups, and the driver merges the small summaries:

- current side: counts and sums on the reference profile's bins (`summarise`), the same
  summary the single-process profile path accumulates, so verdicts and statistics are
  the same as with one process reading every row;
- reference side (`profile_partitions`): two passes. The first merges `NumericSketch`es
  (moments, quantiles within the sketch's rank error) and category counts (exact); the
  second counts every bin, histogram bar and interval mean exactly on the grid the
  first pass chose. Only the quantiles are approximate, and KS's own error on the
  profile path (1/200) is five times the sketch's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import reduce
from typing import Literal, cast

import numpy as np
import pyarrow as pa

from shipyard.data.partitions import Executor, Partition, PartitionedData, map_partitions
from shipyard.data.profile import (
    POSITION_DIGITS,
    CategoricalProfile,
    ColumnKind,
    NumericProfile,
    Profile,
    as_datetime_profile,
    categorical_profile,
    category_counts,
    column_kind,
    datetime_values,
    looks_like_dates,
    numeric_values,
    quantile_grid,
)
from shipyard.monitoring.categorical import CategoricalSummary
from shipyard.monitoring.numeric import NumericAccumulator, NumericReference, NumericSummary
from shipyard.monitoring.sketches import ColumnSummary, NumericSketch, merge_summary

ColumnReference = NumericReference | CategoricalProfile


@dataclass
class Summary:
    """Rows read and one summary per column: what a partition sends back to be merged."""

    rows: int = 0
    columns: dict[str, ColumnSummary] = field(default_factory=dict)

    def merge(self, other: Summary) -> Summary:
        names = list(self.columns) + [n for n in other.columns if n not in self.columns]
        merged = {
            n: merge_summary(self.columns[n], other.columns[n])
            if n in self.columns and n in other.columns
            else self.columns.get(n) or other.columns[n]
            for n in names
        }
        return Summary(self.rows + other.rows, merged)


def summarise(
    references: dict[str, ColumnReference],
    batches: Iterable[pa.RecordBatch],
    pool: ThreadPoolExecutor | None = None,
) -> Summary:
    """Every column of `batches` summarised on its reference's bins (columns in `pool` if given)."""
    names = list(references)
    accumulators = {
        name: NumericAccumulator(ref) if isinstance(ref, NumericReference) else CategoricalSummary()
        for name, ref in references.items()
    }
    rows = 0
    for batch in batches:
        rows += batch.num_rows
        arrays = [batch.column(name) for name in names]
        del batch
        work = [accumulators[name] for name in names]
        list(pool.map(_update, work, arrays) if pool is not None else map(_update, work, arrays))
        del arrays  # hold no batch while the next one is read: memory stays at one row group
    return Summary(
        rows, {n: a.finish() if isinstance(a, NumericAccumulator) else a for n, a in accumulators.items()}
    )


def _update(summary: NumericAccumulator | CategoricalSummary, array: pa.Array) -> None:
    if isinstance(summary, NumericAccumulator):
        datetime = summary.reference.profile.kind == "datetime"
        summary.update(*(datetime_values(array) if datetime else numeric_values(array)))
    else:
        summary.update(*category_counts(array))


def summarise_partition(
    partition: Partition,
    references: dict[str, ColumnReference],
    batch_rows: int,
    pool: ThreadPoolExecutor | None = None,
) -> Summary:
    """One partition's summary: the unit of work a Ray task runs."""
    return summarise(references, partition.batches(list(references), batch_rows), pool)


def summarise_partitions(
    data: PartitionedData,
    references: dict[str, ColumnReference],
    batch_rows: int,
    executor: Executor,
    pool: ThreadPoolExecutor | None = None,
) -> Summary:
    """Every partition summarised (in turn, columns in `pool`; or as Ray tasks) and merged in order."""
    local = pool if executor == "local" else None  # a thread pool does not travel to a Ray task
    parts = map_partitions(
        summarise_partition, data.partitions, references, batch_rows, local, executor=executor
    )
    return reduce(Summary.merge, parts, Summary(0, {}))


@dataclass
class _Sketches:
    """The first pass over a partition: a sketch per numeric column, counts per categorical one."""

    rows: int
    columns: dict[str, NumericSketch | CategoricalSummary]

    def merge(self, other: _Sketches) -> _Sketches:
        return _Sketches(
            self.rows + other.rows, {n: _merge_first(s, other.columns[n]) for n, s in self.columns.items()}
        )


def _merge_first(
    a: NumericSketch | CategoricalSummary, b: NumericSketch | CategoricalSummary
) -> NumericSketch | CategoricalSummary:
    if isinstance(a, NumericSketch) and isinstance(b, NumericSketch):
        return a.merge(b)
    if isinstance(a, CategoricalSummary) and isinstance(b, CategoricalSummary):
        return a.merge(b)
    raise TypeError(f"Cannot merge a {type(a).__name__} with a {type(b).__name__}.")


def _sketch_partition(partition: Partition, kinds: dict[str, ColumnKind], batch_rows: int) -> _Sketches:
    """A partition's columns, one at a time: numeric ones sketched, categorical ones counted."""
    columns: dict[str, NumericSketch | CategoricalSummary] = {}
    for name, kind in kinds.items():
        chunks = [b.column(0) for b in partition.batches([name], batch_rows)]
        if not chunks:  # a partition without rows
            columns[name] = CategoricalSummary() if kind == "categorical" else NumericSketch.of(np.zeros(0))
            continue
        array = pa.chunked_array(chunks)
        if kind == "categorical":
            columns[name] = CategoricalSummary().update(*category_counts(array))
        else:
            values, nulls = (numeric_values if kind == "numeric" else datetime_values)(array)
            columns[name] = NumericSketch.of(np.sort(values), nulls)
        del array
    return _Sketches(partition.rows, columns)


def profile_partitions(
    data: PartitionedData,
    *,
    exclude: Sequence[str] = (),
    executor: Executor = "local",
    batch_rows: int = 1_000_000,
) -> Profile:
    """The reference `Profile` of partitioned data, as `build_profile` would give on all its rows
    (quantiles within the sketch's error; everything else exact). Hive keys are not profiled:
    they say where rows were filed, and a later window is always filed elsewhere."""
    exclude = (*exclude, *data.keys)
    kinds = {
        f.name: k for f in data.schema if f.name not in exclude and (k := column_kind(f.type)) is not None
    }
    skipped = {f.name: str(f.type) for f in data.schema if f.name not in exclude and f.name not in kinds}
    first = reduce(
        _Sketches.merge,
        map_partitions(_sketch_partition, data.partitions, kinds, batch_rows, executor=executor),
    )
    provisional = {
        name: _grid_profile(sketch, cast(Literal["numeric", "datetime"], kinds[name]))
        for name, sketch in first.columns.items()
        if isinstance(sketch, NumericSketch)
    }
    references: dict[str, ColumnReference] = {
        n: NumericReference(p) for n, p in provisional.items() if p.count
    }
    second = summarise_partitions(data, references, batch_rows, executor)
    columns: dict[str, NumericProfile | CategoricalProfile] = {}
    for name, sketch in first.columns.items():
        if isinstance(sketch, CategoricalSummary):
            columns[name] = _as_dates(sketch) or categorical_profile(dict(sketch.counts), sketch.nulls)
        elif name in references:
            columns[name] = _counted(provisional[name], cast(NumericSummary, second.columns[name]))
        else:
            columns[name] = provisional[name]
    return Profile(rows=first.rows, columns=columns, skipped=skipped)


def _as_dates(counts: CategoricalSummary) -> NumericProfile | None:
    """Text whose every value is an ISO date, profiled as dates (as `profile_column` does): every
    value is one iff every distinct one is, so the merged counts tell."""
    if not counts.count or not looks_like_dates(pa.array(list(counts.counts))):
        return None
    return as_datetime_profile(
        categorical_profile(dict(counts.counts), counts.nulls, max_categories=len(counts.counts) + 1)
    )


def _grid_profile(sketch: NumericSketch, kind: Literal["numeric", "datetime"]) -> NumericProfile:
    """A profile with the sketch's quantiles and moments; its counts are the second pass's."""
    if not sketch.count:
        return NumericProfile(0, sketch.nulls, 0.0, 0.0, 0.0, 0.0, [], [], [0], [], [], kind=kind)
    quantiles, edges, hist_edges, tail_quantiles = quantile_grid(sketch.quantiles, sketch.count)
    intervals = len(quantiles) + len(tail_quantiles) - 1
    return NumericProfile(
        count=sketch.count, nulls=sketch.nulls, mean=sketch.mean, std=sketch.std,
        min=float(sketch.points[0]), max=float(sketch.points[-1]), quantiles=quantiles.tolist(),
        bin_edges=edges.tolist(), bin_counts=[], hist_edges=hist_edges.tolist(), hist_counts=[],
        tail_quantiles=tail_quantiles, interval_positions=[0.5] * intervals, kind=kind,
    )  # fmt: skip


def _counted(profile: NumericProfile, summary: NumericSummary) -> NumericProfile:
    """The provisional profile with the second pass's exact bin and histogram counts and interval means."""
    _, grid = profile.grid()
    knots = np.unique(grid)
    inside = summary.less[1:] - summary.less[:-1] - summary.equal[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = summary.inside / inside
        distinct = np.r_[np.where(inside > 0, (mean - knots[:-1]) / np.diff(knots), 0.5), 0.5]
    at = np.minimum(np.searchsorted(knots, grid[:-1]), len(distinct) - 1)
    positions = np.where(np.diff(grid) > 0, distinct[at], 0.5)
    return replace(
        profile,
        bin_counts=summary.bin_counts.tolist(),
        hist_counts=summary.hist_counts.tolist(),
        interval_positions=np.round(np.clip(positions, 0.0, 1.0), POSITION_DIGITS).tolist(),
    )
