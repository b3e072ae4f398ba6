"""The drift engine: every column of a current window against a reference, in bounded memory.

Three paths, chosen by what the reference and the current data are:

- a `Profile` (what registration stores): the current data is read in record
  batches and summarised on the profile's bins; memory does not grow with the
  window. KS and Wasserstein are approximate (see `numeric`).
- reference data (a frame, a Parquet/CSV file, a `Source`): columns are read one at
  a time, sorted once, and every statistic is exact (equal to scipy's).
- partitioned current data (`PartitionedData`: a folder or object-store prefix of
  Parquet files): each partition is summarised on the profile's bins alone, in turn
  or as a Ray task (`executor="ray"`), and the summaries are merged (see
  `partitioned`): the same statistics as the first path. Reference data is then
  profiled first, by partitions too when it is partitioned.

Columns run in a thread pool (NumPy sorts and searches release the GIL).

Examples:
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"x": rng.normal(size=5000), "c": rng.choice(["a", "b"], 5000)})
    >>> cur = pd.DataFrame({"x": rng.normal(1.0, 1.0, 5000), "c": rng.choice(["a", "b"], 5000)})
    >>> report = detect_drift(ref, cur)
    >>> [f.name for f in report.drifted]
    ['x']
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from shipyard.config.policy import MonitoringConfig
from shipyard.data.loading import CSV_SUFFIXES, load_frame
from shipyard.data.partitions import Executor, PartitionedData, open_partitions
from shipyard.data.profile import (
    PREDICTION,
    CategoricalProfile,
    ColumnKind,
    NumericProfile,
    Profile,
    as_datetime_profile,
    build_profile,
    categorical_profile,
    category_counts,
    column_kind,
    datetime_values,
    is_text,
    looks_like_dates,
    numeric_profile,
    numeric_values,
)
from shipyard.monitoring.base import DriftResult, proportions, rise_p_value
from shipyard.monitoring.categorical import CATEGORICAL_TESTS, CategoricalSummary, aligned_counts
from shipyard.monitoring.numeric import NUMERIC_TESTS, NumericAccumulator, NumericReference, NumericSummary
from shipyard.monitoring.partitioned import (
    ColumnReference,
    profile_partitions,
    summarise,
    summarise_partitions,
)
from shipyard.monitoring.sketches import ColumnSummary
from shipyard.monitoring.sources import BATCH_ROWS, Source, TableSource, open_source
from shipyard.monitoring.verdicts import DriftReport, FeatureDrift, benjamini_hochberg, thresholds_for

PLOT_CATEGORIES = 15
ColumnProfile = NumericProfile | CategoricalProfile


def as_source(data: Any) -> Source:
    """A `Source` from a Source, a pandas DataFrame, a pyarrow Table or a file path."""
    if isinstance(data, str | Path):
        return open_source(Path(data))
    if hasattr(data, "batches") and hasattr(data, "column"):
        return data
    return TableSource(data)


def detect_drift(
    reference: Profile | Any,
    current: Any,
    config: MonitoringConfig | None = None,
    *,
    exclude: Sequence[str] = (),
    workers: int | None = None,
    batch_rows: int = BATCH_ROWS,
    executor: Executor = "local",
) -> DriftReport:
    """Compare `current` with `reference` (a `Profile`, or data: exact) column by column; a
    `PartitionedData` current is compared with the reference's profile, partition by partition,
    and a `PartitionedData` reference is profiled partition by partition first.

    `exclude` names reference columns not to compare (e.g. the target, absent from live inputs).
    `executor` says where the partitions of a `PartitionedData` are summarised (`local`, `ray`).
    """
    config = config or MonitoringConfig()
    source: Source | PartitionedData = current if isinstance(current, PartitionedData) else as_source(current)
    workers = workers or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        if isinstance(reference, Profile | PartitionedData) or isinstance(source, PartitionedData):
            profile, described = _profile_of(reference, exclude, executor)
            features, rows = _from_profile(profile, source, config, pool, batch_rows, exclude, executor)
            exact = False
        else:
            ref_source = as_source(reference)
            features, rows = _from_data(ref_source, source, config, pool, exclude)
            described, exact = ref_source.description, True
    _adjust(features)
    too_few = 0 < rows < config.min_rows
    for feature in features:
        if feature.status == "tested" and too_few:
            feature.status = "too_few_rows"  # statistics kept for the report, no verdict
        if feature.status == "tested":
            feature.decide(thresholds_for(config, feature.name), config.fdr_alpha)
        else:
            feature.severity = thresholds_for(config, feature.name).severity or "warn"
    return DriftReport(features, described, source.description, rows, exact, config.drift_share, config)


def _adjust(features: list[FeatureDrift]) -> None:
    """Benjamini-Hochberg over every test of every tested column (distribution and null share)."""
    tests = [
        (feature, attribute, p)
        for feature in features
        if feature.status == "tested"
        for attribute, p in (
            ("p_adjusted", feature.p_value),
            ("null_p_adjusted", feature.results["null_share"].p_value),
        )
        if p is not None
    ]
    for (feature, attribute, _), adjusted in zip(
        tests, benjamini_hochberg([p for *_, p in tests]), strict=True
    ):
        setattr(feature, attribute, adjusted)


def _plan(
    kinds: Mapping[str, ColumnKind], current: pa.Schema, config: MonitoringConfig
) -> tuple[list[FeatureDrift], list[str]]:
    """Which columns are compared; the others get their status (ignored, missing, type changed)."""
    skipped, compared = [], []
    for name, kind in kinds.items():
        if thresholds_for(config, name).ignore:
            skipped.append(FeatureDrift(name, kind, "ignored"))
        elif name not in current.names:
            if name != PREDICTION:  # a file without scores has no prediction to compare
                skipped.append(FeatureDrift(name, kind, "missing"))
        elif not _comparable(kind, current.field(name).type):
            types = {"reference": kind, "current": str(current.field(name).type)}
            skipped.append(FeatureDrift(name, kind, "type_changed", plot={"types": types}))
        else:
            compared.append(name)
    return skipped, compared


def _comparable(kind: str, current: pa.DataType) -> bool:
    """The current type can be compared with a reference column of this kind (dates may be text)."""
    return column_kind(current) == kind or (kind == "datetime" and is_text(current))


def _profile_of(reference: Any, exclude: Sequence[str], executor: Executor) -> tuple[Profile, str]:
    """The reference as a profile: itself, or the profile of reference data (by partitions when
    it is partitioned), and how the report names it."""
    if isinstance(reference, Profile):
        return reference, "reference profile"
    if isinstance(reference, str | Path):
        csv = str(reference).lower().endswith(CSV_SUFFIXES)
        reference = load_frame(reference) if csv else open_partitions(reference)
    if isinstance(reference, PartitionedData):
        profile = profile_partitions(reference, exclude=exclude, executor=executor)
        return profile, f"profile of {reference.description}"
    return build_profile(reference, exclude=tuple(exclude)), "profile of the reference data"


def _from_profile(
    profile: Profile,
    source: Source | PartitionedData,
    config: MonitoringConfig,
    pool: ThreadPoolExecutor,
    batch_rows: int,
    exclude: Sequence[str],
    executor: Executor,
) -> tuple[list[FeatureDrift], int]:
    columns = {n: _as_dates(p) for n, p in profile.columns.items() if n not in exclude}
    if profile.prediction is not None:
        columns[PREDICTION] = profile.prediction
    skipped, names = _plan({n: p.kind for n, p in columns.items()}, source.schema, config)
    references = {name: _reference(columns[name]) for name in names}
    if isinstance(source, PartitionedData):
        summary = summarise_partitions(source, references, batch_rows, executor, pool)
    else:
        summary = summarise(references, source.batches(names, batch_rows), pool)
    compared = list(pool.map(lambda n: _compare(n, references[n], summary.columns[n], summary.rows), names))
    return _in_order(skipped + compared, list(columns)), summary.rows


def _as_dates(profile: ColumnProfile) -> ColumnProfile:
    if isinstance(profile, CategoricalProfile):
        return as_datetime_profile(profile) or profile
    return profile


def _in_order(features: list[FeatureDrift], names: list[str]) -> list[FeatureDrift]:
    """Features in the reference's column order."""
    position = {name: i for i, name in enumerate(names)}
    return sorted(features, key=lambda f: position[f.name])


def _reference(profile: ColumnProfile) -> NumericReference | CategoricalProfile:
    return NumericReference(profile) if isinstance(profile, NumericProfile) else profile


def _from_data(
    reference: Source,
    current: Source,
    config: MonitoringConfig,
    pool: ThreadPoolExecutor,
    exclude: Sequence[str],
) -> tuple[list[FeatureDrift], int]:
    kinds = {
        f.name: kind
        for f in reference.schema
        if (kind := column_kind(f.type)) is not None and f.name not in exclude
    }
    dated = {f.name for f in current.schema if column_kind(f.type) == "datetime"}
    for name in [n for n, kind in kinds.items() if kind == "categorical" and n in dated]:
        if looks_like_dates(reference.column(name)):  # text dates against a date type
            kinds[name] = "datetime"
    skipped, names = _plan(kinds, current.schema, config)

    def one(name: str) -> tuple[FeatureDrift, int]:
        ref_array, cur_array = reference.column(name), current.column(name)
        rows = len(cur_array)
        kind = "datetime" if kinds[name] == "categorical" and looks_like_dates(ref_array) else kinds[name]
        if kind != "categorical":
            read = numeric_values if kind == "numeric" else datetime_values
            values, nulls = read(ref_array)
            values = np.sort(values)
            ref = NumericReference(numeric_profile(values, nulls, kind=kind), values)
            acc = NumericAccumulator(ref, keep_values=True).update(*read(cur_array))
            return _compare(name, ref, acc, rows), rows
        ref_profile = categorical_profile(*category_counts(ref_array), max_categories=len(ref_array) + 1)
        summary = CategoricalSummary().update(*category_counts(cur_array))
        return _compare(name, ref_profile, summary, rows), rows

    done = list(pool.map(one, names))
    return _in_order(skipped + [f for f, _ in done], list(kinds)), max((rows for _, rows in done), default=0)


def _compare(
    name: str,
    reference: NumericReference | CategoricalProfile,
    current: NumericAccumulator | NumericSummary | CategoricalSummary,
    rows: int,
) -> FeatureDrift:
    summary: NumericSummary | CategoricalSummary = (
        current.finish() if isinstance(current, NumericAccumulator) else current
    )
    ref = reference.profile if isinstance(reference, NumericReference) else reference
    kind = ref.kind
    if rows == 0:
        return FeatureDrift(name, kind, "empty", reference_rows=ref.count + ref.nulls)
    feature = FeatureDrift(name, kind, "tested", reference_rows=ref.count + ref.nulls, current_rows=rows)
    ref_nulls = ref.nulls / (ref.count + ref.nulls) if ref.count + ref.nulls else 0.0
    cur_nulls = summary.nulls / (summary.count + summary.nulls) if summary.count + summary.nulls else 0.0
    feature.results["null_share"] = DriftResult(
        "null_share",
        cur_nulls - ref_nulls,
        rise_p_value(ref.nulls, ref.count + ref.nulls, summary.nulls, summary.count + summary.nulls),
        detail={"reference": ref_nulls, "current": cur_nulls},
    )
    if ref.count and summary.count:
        feature.results.update(_distribution_tests(reference, summary))
        feature.p_value = feature.results["chi2" if kind == "categorical" else "ks"].p_value
    feature.plot = _plot(reference, summary)
    if isinstance(summary, NumericSummary):
        summary.values = summary.exact_cdfs = None  # release the column before the next one
    return feature


def _distribution_tests(reference: ColumnReference, current: ColumnSummary) -> dict[str, DriftResult]:
    """Every built-in test of the column's kind, by name."""
    if isinstance(reference, NumericReference) and isinstance(current, NumericSummary):
        return {t.name: t.compare(reference, current) for t in NUMERIC_TESTS}
    if isinstance(reference, CategoricalProfile) and isinstance(current, CategoricalSummary):
        return {t.name: t.compare(reference, current) for t in CATEGORICAL_TESTS}
    raise _mismatch(reference, current)


def _plot(reference: ColumnReference, current: ColumnSummary) -> dict[str, Any]:
    """Aggregates for the report's reference-vs-current plot: never raw rows."""
    if isinstance(reference, NumericReference) and isinstance(current, NumericSummary):
        p = reference.profile
        return {
            "edges": p.hist_edges,
            "reference": proportions(np.asarray(p.hist_counts, dtype=np.float64)).tolist(),
            "current": proportions(current.hist_counts.astype(np.float64)).tolist(),
            "mean": [p.mean, current.mean],
            "std": [p.std, current.std],
        }
    if isinstance(reference, CategoricalProfile) and isinstance(current, CategoricalSummary):
        names, table = aligned_counts(reference, current)
        top = np.argsort(-(proportions(table[0]) + proportions(table[1])), kind="stable")[:PLOT_CATEGORIES]
        return {
            "categories": [names[i] for i in top],
            "reference": proportions(table[0])[top].tolist(),
            "current": proportions(table[1])[top].tolist(),
        }
    raise _mismatch(reference, current)


def _mismatch(reference: object, current: object) -> TypeError:
    """A reference paired with the other kind's summary: a bug in the engine, never bad input."""
    return TypeError(
        f"A {type(reference).__name__} reference cannot be compared with a {type(current).__name__}."
    )
