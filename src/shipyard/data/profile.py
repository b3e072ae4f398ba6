"""Reference profile of a data set: what drift monitoring compares new data against.

A profile keeps per-column aggregates only (quantiles, bin counts, a histogram,
category frequencies, null counts) plus the distribution of the model's score, so
the training data need not be kept around. It is small (about 100 KB for 25
columns), versioned JSON, and built one column at a time.

Numeric bins are defined by reference quantiles, so PSI and Jensen-Shannon computed
from a profile are exact for those bins; KS and Wasserstein computed from a profile
are approximate (see `shipyard.monitoring.numeric` for the error bounds). Heavy tails
get extra quantiles (`tail_quantiles`, down to one row from either end) and every
interval between quantiles the position of its values' mean (`interval_positions`),
so Wasserstein stays close on them; profiles written before these two fields lack
them and are still read (Wasserstein then falls back to the trapezoid rule).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shipyard.errors import ConfigError

SCHEMA_VERSION = 1
N_QUANTILES = 201
N_BINS = 10
N_HIST = 30
TAIL_RATIO = 2**-0.5  # each extra tail quantile is this much closer to the end than the last
POSITION_DIGITS = 4
MAX_CATEGORIES = 1000
PREDICTION = "prediction"

ColumnKind = Literal["numeric", "categorical", "datetime"]
# ISO-8601 calendar dates and date-times (what `datetime.isoformat` and most exports write);
# week dates (2026-W01-1) and ordinal dates are not dates here, and stay text.
ISO_DATETIME = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}([.,]\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
_SNIFF_ROWS = 100


def _round(values: np.ndarray) -> list[float]:
    """Twelve significant digits: the profile stays small and the values round-trip through JSON."""
    return [float(f"{v:.12g}") for v in np.asarray(values, dtype=np.float64).tolist()]


@dataclass(frozen=True)
class NumericProfile:
    """A numeric column: moments, `quantiles` at evenly spaced probabilities, counts per bin.

    Bin `i` of `bin_edges` holds values in (edge[i-1], edge[i]]; the first and last are open.
    A `datetime` column (a date/timestamp type, or text of ISO-8601 dates) is profiled the
    same way, on seconds since 1970-01-01 UTC.
    """

    count: int
    nulls: int
    mean: float
    std: float
    min: float
    max: float
    quantiles: list[float]
    bin_edges: list[float]
    bin_counts: list[int]
    hist_edges: list[float]
    hist_counts: list[int]
    tail_quantiles: list[float] = field(default_factory=list)  # lower tail then upper, see `grid`
    interval_positions: list[float] = field(default_factory=list)  # per interval of `grid`, in [0, 1]
    kind: Literal["numeric", "datetime"] = "numeric"

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and quantiles of `quantiles` and `tail_quantiles` merged, in order."""
        return merged_grid(self.quantiles, self.tail_quantiles)


def merged_grid(
    quantiles: Sequence[float] | np.ndarray, tail_quantiles: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """The evenly spaced quantiles and the tail ones (lower tail, then upper) merged by probability."""
    values = np.asarray(quantiles, dtype=np.float64)
    probs = np.linspace(0.0, 1.0, len(values))
    if not tail_quantiles or len(values) < 2:
        return probs, values
    tails = tail_probabilities(len(values), len(tail_quantiles) // 2)
    merged = np.r_[probs, tails[::-1], 1.0 - tails]
    order = np.argsort(merged, kind="stable")
    return merged[order], np.r_[values, tail_quantiles][order]


@dataclass(frozen=True)
class CategoricalProfile:
    """A categorical column: counts of its most frequent categories; `other` counts the rest."""

    count: int
    nulls: int
    counts: dict[str, int]
    other: int = 0
    kind: Literal["categorical"] = "categorical"


@dataclass(frozen=True)
class Profile:
    """Per-column profiles of a data set, and of the model's score on it when known."""

    rows: int
    columns: dict[str, NumericProfile | CategoricalProfile]
    prediction: NumericProfile | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ConfigError(
                f"Profile schema_version {version!r} is not supported (this Shipyard reads version "
                f"{SCHEMA_VERSION}). Rebuild the profile with this version of Shipyard."
            )
        prediction = data.get("prediction")
        return cls(
            rows=int(data["rows"]),
            columns={name: _column_from_dict(c) for name, c in data["columns"].items()},
            prediction=NumericProfile(**prediction) if prediction else None,
            skipped=dict(data.get("skipped", {})),
        )

    @classmethod
    def from_json(cls, text: str) -> Profile:
        return cls.from_dict(json.loads(text))


def _column_from_dict(data: dict[str, Any]) -> NumericProfile | CategoricalProfile:
    return CategoricalProfile(**data) if data["kind"] == "categorical" else NumericProfile(**data)


def column_kind(dtype: pa.DataType) -> ColumnKind | None:
    """Numbers are numeric; dates and timestamps datetime; text, booleans and dictionaries
    categorical (text of ISO dates is told apart by `looks_like_dates`); nested types skipped."""
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        return "datetime"
    if pa.types.is_dictionary(dtype):
        return "categorical"
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "numeric"
    if pa.types.is_boolean(dtype) or pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "categorical"
    if pa.types.is_string_view(dtype):
        return "categorical"
    return None


def is_text(dtype: pa.DataType) -> bool:
    return pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_string_view(dtype)


def looks_like_dates(array: pa.Array | pa.ChunkedArray) -> bool:
    """Text whose every non-null value is an ISO-8601 date or date-time that parses (at least one)."""
    if not is_text(array.type):
        return False
    values = array.drop_null()
    if not len(values):
        return False
    head = values.slice(0, _SNIFF_ROWS)  # most text columns are told apart here, cheaply
    if not pc.all(pc.match_substring_regex(head, ISO_DATETIME)).as_py():
        return False
    if not pc.all(pc.match_substring_regex(values, ISO_DATETIME)).as_py():
        return False
    return datetime_values(values)[1] == 0


def datetime_values(array: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, int]:
    """Seconds since 1970-01-01 UTC of a date, timestamp or ISO-8601 text column, and how many were
    missing; text that is not an ISO date counts as missing. Naive times are read as UTC."""
    import pandas as pd

    dtype = array.type
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        if pa.types.is_date32(dtype):
            scale, raw = 86_400.0, array.cast(pa.int32())
        elif pa.types.is_date64(dtype):
            scale, raw = 1e-3, array.cast(pa.int64())
        else:
            scale = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[dtype.unit]
            raw = array.cast(pa.int64())
        values = raw.to_numpy(zero_copy_only=False).astype(np.float64) * scale
    else:
        text = pd.Series(array.to_pandas(), dtype=object)
        matches = text.str.fullmatch(ISO_DATETIME).fillna(False).astype(bool)
        parsed = pd.to_datetime(text.where(matches), format="ISO8601", utc=True, errors="coerce")
        values = (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=np.float64)
    missing = np.isnan(values)
    nulls = int(missing.sum())
    return (values[~missing] if nulls else values), nulls


def numeric_values(array: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, int]:
    """The non-null, non-NaN values of a numeric column as float64, and how many were missing."""
    values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)
    missing = np.isnan(values)
    nulls = int(missing.sum())
    return (values[~missing] if nulls else values), nulls


def category_counts(array: pa.Array | pa.ChunkedArray) -> tuple[dict[str, int], int]:
    """Counts per category (as text) and the number of nulls."""
    if pa.types.is_dictionary(array.type):
        array = (
            array.dictionary_decode()
            if isinstance(array, pa.Array)
            else pc.cast(array, array.type.value_type)
        )
    nulls = int(array.null_count)
    counts = pc.value_counts(array.drop_null() if nulls else array)
    keys = counts.field("values").to_pylist()
    return dict(zip(map(str, keys), counts.field("counts").to_pylist(), strict=True)), nulls


def tail_probabilities(n_quantiles: int, levels: int) -> np.ndarray:
    """Distances from either end of the tail quantiles: r/m, r^2/m, ... (m = n_quantiles - 1)."""
    return (1.0 / (n_quantiles - 1)) * TAIL_RATIO ** np.arange(1, levels + 1)


def tail_levels(rows: int, n_quantiles: int) -> int:
    """How many tail quantiles each side gets: until they are one row from the end."""
    if rows < 2 or n_quantiles < 2:
        return 0
    return max(int(np.floor(np.log(1.0 / (rows * (1.0 / (n_quantiles - 1)))) / np.log(TAIL_RATIO))), 0)


def interval_positions(sorted_values: np.ndarray, grid: np.ndarray) -> list[float]:
    """Where the mean of the values strictly inside each interval of `grid` lies, from 0 (its left
    end) to 1 (its right end); 0.5 for an empty or zero-width interval."""
    left, right = grid[:-1], grid[1:]
    start = np.searchsorted(sorted_values, left, side="right")
    stop = np.maximum(np.searchsorted(sorted_values, right, side="left"), start)
    sums = np.r_[0.0, np.cumsum(sorted_values - left[0])]  # shifted: fewer digits lost to cancellation
    counts = stop - start
    width = right - left
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (sums[stop] - sums[start]) / counts + left[0]
        position = np.where((counts > 0) & (width > 0), (mean - left) / width, 0.5)
    return np.round(np.clip(position, 0.0, 1.0), POSITION_DIGITS).tolist()


def numeric_profile(
    sorted_values: np.ndarray,
    nulls: int,
    *,
    n_quantiles: int = N_QUANTILES,
    n_bins: int = N_BINS,
    kind: Literal["numeric", "datetime"] = "numeric",
) -> NumericProfile:
    """Profile of one numeric column from its sorted non-null values.

    Histogram bin `i` holds values in [edge[i], edge[i+1]), the last one also its right edge.
    """
    n = len(sorted_values)
    if n == 0:
        return NumericProfile(0, nulls, 0.0, 0.0, 0.0, 0.0, [], [], [0], [], [], kind=kind)
    quantiles, edges, hist_edges, tail_quantiles = quantile_grid(
        lambda probs: sorted_quantiles(sorted_values, probs), n, n_quantiles=n_quantiles, n_bins=n_bins
    )
    return NumericProfile(
        count=n,
        nulls=nulls,
        mean=float(np.mean(sorted_values)),
        std=float(np.std(sorted_values)),
        min=float(sorted_values[0]),
        max=float(sorted_values[-1]),
        quantiles=quantiles.tolist(),
        bin_edges=edges.tolist(),
        bin_counts=np.diff(np.searchsorted(sorted_values, edges, side="right"), prepend=0, append=n).tolist(),
        hist_edges=hist_edges.tolist(),
        hist_counts=np.diff(np.searchsorted(sorted_values, hist_edges[1:-1]), prepend=0, append=n).tolist(),
        tail_quantiles=tail_quantiles,
        interval_positions=interval_positions(sorted_values, merged_grid(quantiles, tail_quantiles)[1]),
        kind=kind,
    )


def quantile_grid(
    quantile: Callable[[np.ndarray], np.ndarray],
    rows: int,
    *,
    n_quantiles: int = N_QUANTILES,
    n_bins: int = N_BINS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float]]:
    """Where a numeric profile is taken, from the column's quantile function (exact on sorted
    values, or a mergeable sketch's on partitions): quantiles, bin edges, histogram edges and
    tail quantiles."""
    quantiles = np.array(_round(quantile(np.linspace(0, 1, n_quantiles))))
    edges = np.unique(quantiles[np.linspace(0, n_quantiles - 1, n_bins + 1).round().astype(int)[1:-1]])
    hist_edges = np.unique(np.array(_round(np.linspace(quantiles[0], quantiles[-1], N_HIST + 1))))
    tails = tail_probabilities(n_quantiles, tail_levels(rows, n_quantiles))
    return quantiles, edges, hist_edges, _round(quantile(np.r_[tails[::-1], 1.0 - tails]))


def as_datetime_profile(profile: CategoricalProfile) -> NumericProfile | None:
    """A profile's text dates (every category an ISO date, none pooled as `other`) as a datetime
    profile: profiles written before dates were recognised compare them as dates too."""
    if profile.other or not profile.counts:
        return None
    keys = pa.array(list(profile.counts))
    if not looks_like_dates(keys):
        return None
    values = np.repeat(datetime_values(keys)[0], list(profile.counts.values()))
    return numeric_profile(np.sort(values), profile.nulls, kind="datetime")


def sorted_quantiles(sorted_values: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """`np.quantile(values, probs)` (linear method) on already sorted values, without a sort."""
    position = probs * (len(sorted_values) - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, len(sorted_values) - 1)
    frac = position - low
    return sorted_values[low] + frac * (sorted_values[high] - sorted_values[low])


def categorical_profile(
    counts: dict[str, int], nulls: int, *, max_categories: int = MAX_CATEGORIES
) -> CategoricalProfile:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(ranked[:max_categories])
    return CategoricalProfile(
        count=sum(counts.values()), nulls=nulls, counts=kept, other=sum(c for _, c in ranked[max_categories:])
    )


def profile_column(array: pa.Array | pa.ChunkedArray) -> NumericProfile | CategoricalProfile | None:
    """Profile of one column, or None for a type drift is not computed on (nested)."""
    kind = column_kind(array.type)
    if kind == "categorical" and looks_like_dates(array):
        kind = "datetime"
    if kind == "numeric":
        values, nulls = numeric_values(array)
        return numeric_profile(np.sort(values), nulls)
    if kind == "datetime":
        values, nulls = datetime_values(array)
        return numeric_profile(np.sort(values), nulls, kind="datetime")
    if kind == "categorical":
        return categorical_profile(*category_counts(array))
    return None


def build_profile(data: Any, *, scores: np.ndarray | None = None, exclude: tuple[str, ...] = ()) -> Profile:
    """Profile of a pandas DataFrame or pyarrow Table, plus the model's `scores` on it if given.

    Columns are converted one at a time; one Arrow cannot type (mixed objects) is skipped
    and named in `skipped`, never an error: registration must not fail on a profile.
    """
    keys = data.column_names if isinstance(data, pa.Table) else list(data.columns)
    columns: dict[str, NumericProfile | CategoricalProfile] = {}
    skipped: dict[str, str] = {}
    for key in keys:
        name = str(key)
        if name in exclude:
            continue
        try:
            array = data.column(key) if isinstance(data, pa.Table) else pa.array(data[key], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError) as exc:
            skipped[name] = f"unsupported values: {exc}"[:200]
            continue
        profiled = profile_column(array)
        if profiled is None:
            skipped[name] = str(array.type)
        else:
            columns[name] = profiled
    prediction = None
    if scores is not None:
        values = np.asarray(scores, dtype=np.float64)
        finite = values[~np.isnan(values)]
        prediction = numeric_profile(np.sort(finite), len(values) - len(finite))
    return Profile(rows=len(data), columns=columns, prediction=prediction, skipped=skipped)


def prediction_scores(outputs: Any) -> np.ndarray:
    """The score the server logs: positive-class (binary) or highest (multiclass) probability,
    or the predicted value (regression)."""
    if outputs.y_score is None:
        return np.asarray(outputs.y_pred, dtype=np.float64)
    proba = np.asarray(outputs.y_score, dtype=np.float64)
    if proba.ndim == 1:
        return proba
    return proba[:, 1] if proba.shape[1] == 2 else proba.max(axis=1)
