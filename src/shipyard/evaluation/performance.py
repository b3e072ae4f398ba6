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
from pathlib import Path

import numpy as np
import pandas as pd

from shipyard.errors import ConfigError

MIB = 1024 * 1024


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
