"""Prediction and feedback log parts written in the serving contract's layout, for delivery tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from shipyard.serving import predlog as log

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def traffic(
    n_requests: int,
    *,
    route: str,
    version: str,
    latency_ms: float,
    seed: int,
    error_rate: float = 0.0,
    p_shift: float = 0.0,
    start: datetime = T0,
    ids: Sequence[str] | None = None,
) -> dict[str, list]:
    """Columns of `n_requests` one-row requests, one per 100 ms from `start`."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n_requests)
    p1 = np.clip(1 / (1 + np.exp(-2 * x)) + p_shift, 0, 1)
    failed = rng.random(n_requests) < error_rate
    ids = list(ids) if ids is not None else [uuid.uuid4().hex for _ in range(n_requests)]
    return {
        log.REQUEST_ID: ids,
        log.ROW: [0] * n_requests,
        log.TS: [start + timedelta(milliseconds=100 * i) for i in range(n_requests)],
        log.MODEL_VERSION: [version] * n_requests,
        log.ROUTE: [route] * n_requests,
        log.STATUS: ["error" if f else "ok" for f in failed],
        log.LATENCY_MS: list(latency_ms * rng.uniform(0.8, 1.2, n_requests)),
        log.PREDICTION: [None if f else str(int(p > 0.5)) for f, p in zip(failed, p1, strict=True)],
        log.SCORE: [None if f else float(p) for f, p in zip(failed, p1, strict=True)],
        f"{log.PROBA_PREFIX}0": [None if f else float(1 - p) for f, p in zip(failed, p1, strict=True)],
        f"{log.PROBA_PREFIX}1": [None if f else float(p) for f, p in zip(failed, p1, strict=True)],
        f"{log.INPUT_PREFIX}x": list(x),
    }


def write_part(folder: Path, columns: dict[str, list]) -> Path:
    """One Parquet part in the contract's types, in the partition of its first timestamp."""
    types = {
        log.REQUEST_ID: pa.string(),
        log.ROW: pa.int32(),
        log.TS: pa.timestamp("us", tz="UTC"),
        log.LABEL: pa.string(),
        log.LATENCY_MS: pa.float64(),
        log.SCORE: pa.float64(),
    }
    table = pa.table({k: pa.array(v, type=types.get(k)) for k, v in columns.items()})
    path = log.part_path(folder, columns[log.TS][0])
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def feedback_for(columns: dict[str, list], labels: Sequence[str]) -> dict[str, list]:
    n = len(columns[log.REQUEST_ID])
    return {
        log.REQUEST_ID: columns[log.REQUEST_ID],
        log.ROW: [0] * n,
        log.LABEL: list(labels),
        log.TS: columns[log.TS],
    }
