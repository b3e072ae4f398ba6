"""What serving the model costs: single-row latency, batch throughput, size and memory.

Figures are taken in process, without HTTP, so they measure the model and its
feature code alone; a gate compares them with the limits in `shipyard.yaml`.
They are taken with one OpenMP/BLAS thread, as the server runs each request:
on a small shared machine a thread team per call oversubscribes the cores and
makes tail latency measure the neighbours rather than the model.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shipyard.errors import ConfigError

MIB = 1024 * 1024
#: added to both peaks before their ratio: allocations of a few hundred KiB vary from call
#: to call, and a ratio of two tiny numbers would decide on that noise
MEMORY_SLACK_MB = 1.0


def _rows(X: pd.DataFrame, count: int) -> pd.DataFrame:
    """`count` rows of X, cycling through it when it has fewer."""
    return X.iloc[np.arange(count) % len(X)]


def _size_mb(path: Path | None) -> float:
    if path is None:
        return 0.0
    path = Path(path)
    if path.is_file():
        return path.stat().st_size / MIB
    if not path.is_dir():
        raise ConfigError(
            f"measure_performance: model_path {str(path)!r} does not exist. "
            "Pass the folder the model was saved to, or None."
        )
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / MIB


def _peak_memory_mb(predict: Callable[[pd.DataFrame], object], batch: pd.DataFrame) -> float:
    """Peak memory allocated by one call, above what was allocated before it."""
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    try:
        predict(batch)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        if not already:
            tracemalloc.stop()
    return max(peak - before, 0) / MIB


def measure_performance(
    predict: Callable[[pd.DataFrame], object],
    X: pd.DataFrame,
    *,
    samples: int = 200,
    warmup: int = 10,
    batch: int = 1000,
    model_path: Path | None = None,
) -> dict[str, float]:
    """Time `predict` on X and measure its footprint.

    Latency percentiles come from `samples` single-row calls after `warmup`
    untimed ones; throughput from one call on `batch` rows (X's rows repeated if
    it has fewer); `peak_memory_mb` is the peak extra memory of that batch call
    as tracemalloc sees it (Python and NumPy allocations); `size_mb` is the total
    size of the files under `model_path` (0 when None). Sizes are in MiB.
    """
    if len(X) == 0:
        raise ConfigError("measure_performance: X has no rows. Pass at least one row of features.")
    for name, value, low in (("samples", samples, 1), ("warmup", warmup, 0), ("batch", batch, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(
                f"measure_performance: '{name}' must be an int >= {low}. Got {value!r} instead."
            )
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _measure(predict, X, samples=samples, warmup=warmup, batch=batch, model_path=model_path)


def _measure(
    predict: Callable[[pd.DataFrame], object],
    X: pd.DataFrame,
    *,
    samples: int,
    warmup: int,
    batch: int,
    model_path: Path | None,
) -> dict[str, float]:
    size_mb = _size_mb(model_path)
    singles = [X.iloc[[i % len(X)]] for i in range(warmup + samples)]
    for row in singles[:warmup]:
        predict(row)
    timings = np.empty(samples)
    for i, row in enumerate(singles[warmup:]):
        start = time.perf_counter()
        predict(row)
        timings[i] = time.perf_counter() - start
    p50, p95, p99 = np.percentile(timings * 1000, [50, 95, 99])

    rows = _rows(X, batch)
    start = time.perf_counter()
    predict(rows)
    elapsed = time.perf_counter() - start
    return {
        "latency_p50_ms": float(p50),
        "latency_p95_ms": float(p95),
        "latency_p99_ms": float(p99),
        "throughput_rows_per_s": batch / max(elapsed, 1e-9),
        "size_mb": size_mb,
        "peak_memory_mb": _peak_memory_mb(predict, rows),
    }


@dataclass(frozen=True)
class RatioEstimate:
    """candidate / baseline as a ratio of medians over paired timings, with a 95 % interval."""

    value: float
    low: float
    high: float
    pairs: int

    @classmethod
    def of(cls, timings: np.ndarray, rng: np.random.Generator, resamples: int = 1000) -> RatioEstimate:
        """From (pairs, 2) timings, column 0 the candidate; the interval resamples whole pairs."""
        medians = np.median(timings, axis=0)
        boot = rng.integers(0, len(timings), size=(resamples, len(timings)))
        ratios = np.median(timings[boot, 0], axis=1) / np.maximum(np.median(timings[boot, 1], axis=1), 1e-12)
        low, high = np.percentile(ratios, [2.5, 97.5])
        return cls(float(medians[0] / max(medians[1], 1e-12)), float(low), float(high), len(timings))


@dataclass(frozen=True)
class CostComparison:
    """The candidate's serving cost relative to a baseline's, measured side by side.

    Each ratio is candidate / baseline (above 1: the candidate costs more). `single_row`
    and `batch` are latency ratios with their intervals; a limit is broken only when the
    lower end of an interval is above it, so machine noise alone never rejects a model.
    """

    single_row: RatioEstimate
    batch: RatioEstimate
    size_ratio: float | None
    memory_ratio: float
    figures: dict[str, float]

    @property
    def latency(self) -> RatioEstimate:
        """The latency ratio the evidence is surest of: the one with the higher lower bound."""
        return max(self.single_row, self.batch, key=lambda r: r.low)

    def to_dict(self) -> dict[str, float | None]:
        return {
            "latency_ratio": self.latency.value,
            "latency_ratio_low": self.latency.low,
            "single_row_ratio": self.single_row.value,
            "single_row_ratio_ci": [self.single_row.low, self.single_row.high],  # type: ignore[dict-item]
            "batch_ratio": self.batch.value,
            "batch_ratio_ci": [self.batch.low, self.batch.high],  # type: ignore[dict-item]
            "size_ratio": self.size_ratio,
            "memory_ratio": self.memory_ratio,
            **self.figures,
        }


def compare_cost(
    candidate: Callable[[pd.DataFrame], object],
    baseline: Callable[[pd.DataFrame], object],
    X: pd.DataFrame,
    *,
    samples: int = 200,
    warmup: int = 10,
    batch: int = 1000,
    batch_repeats: int = 15,
    batch_budget_s: float = 10.0,
    candidate_path: Path | None = None,
    baseline_path: Path | None = None,
    seed: int = 0,
) -> CostComparison:
    """Time two models on the same rows, interleaved, so machine load hits both alike.

    Every single-row sample calls both models on the same row back to back, in a random
    order; batch timings alternate the two on the same `batch` rows, up to `batch_repeats`
    pairs or `batch_budget_s` seconds (at least 3 pairs). A slow neighbour process inflates
    both timings of a pair, so the ratio stays put where absolute milliseconds would not.
    Sizes compare the two model folders (None when either is missing); memory compares the
    peak extra allocation of one batch call, each plus `MEMORY_SLACK_MB`.
    """
    if len(X) == 0:
        raise ConfigError("compare_cost: X has no rows. Pass at least one row of features.")
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    rows = _rows(X, batch)
    with threadpool_limits(limits=1):
        single = _paired_single_rows(candidate, baseline, X, samples, warmup, rng)
        batches = _paired_batches(candidate, baseline, rows, batch_repeats, batch_budget_s)
        memory = (_peak_memory_mb(candidate, rows), _peak_memory_mb(baseline, rows))
    sizes = (_size_mb(candidate_path), _size_mb(baseline_path)) if candidate_path and baseline_path else None
    medians, batch_medians = np.median(single, axis=0), np.median(batches, axis=0)
    figures = {
        "candidate_latency_p50_ms": float(medians[0] * 1000),
        "baseline_latency_p50_ms": float(medians[1] * 1000),
        "candidate_batch_ms": float(batch_medians[0] * 1000),
        "baseline_batch_ms": float(batch_medians[1] * 1000),
        "candidate_peak_memory_mb": memory[0],
        "baseline_peak_memory_mb": memory[1],
    }
    if sizes is not None:
        figures.update(candidate_size_mb=sizes[0], baseline_size_mb=sizes[1])
    return CostComparison(
        single_row=RatioEstimate.of(single, rng),
        batch=RatioEstimate.of(batches, rng),
        size_ratio=sizes[0] / max(sizes[1], 1e-9) if sizes is not None else None,
        memory_ratio=(memory[0] + MEMORY_SLACK_MB) / (memory[1] + MEMORY_SLACK_MB),
        figures=figures,
    )


def _paired_single_rows(
    candidate: Callable[[pd.DataFrame], object],
    baseline: Callable[[pd.DataFrame], object],
    X: pd.DataFrame,
    samples: int,
    warmup: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """(samples, 2) seconds per single-row call: column 0 the candidate, 1 the baseline."""
    models = (candidate, baseline)
    rows = [X.iloc[[i % len(X)]] for i in range(warmup + samples)]
    for row in rows[:warmup]:
        candidate(row)
        baseline(row)
    timings = np.empty((samples, 2))
    for i, row in enumerate(rows[warmup:]):
        order = (0, 1) if rng.random() < 0.5 else (1, 0)
        for which in order:
            start = time.perf_counter()
            models[which](row)
            timings[i, which] = time.perf_counter() - start
    return timings


def _paired_batches(
    candidate: Callable[[pd.DataFrame], object],
    baseline: Callable[[pd.DataFrame], object],
    rows: pd.DataFrame,
    repeats: int,
    budget_s: float,
) -> np.ndarray:
    """(pairs, 2) seconds per batch call, alternating which model goes first; one untimed
    call of each first, so neither pays for cold caches."""
    models = (candidate, baseline)
    candidate(rows)
    baseline(rows)
    timings: list[tuple[float, float]] = []
    deadline = time.perf_counter() + budget_s
    while len(timings) < max(repeats, 3) and (len(timings) < 3 or time.perf_counter() < deadline):
        pair = [0.0, 0.0]
        for which in (0, 1) if len(timings) % 2 == 0 else (1, 0):
            start = time.perf_counter()
            models[which](rows)
            pair[which] = time.perf_counter() - start
        timings.append((pair[0], pair[1]))
    return np.array(timings)
