"""Scoring one micro-batch: route, predict once per route, split the results back, log, measure.

Runs on the batcher's worker thread. Shadow scoring runs on its own thread after the
replies are ready: its outputs go to the log and metrics only, and its failures are
counted, never seen by a client.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from shipyard.serving import predlog as P
from shipyard.serving.metrics import ServerMetrics
from shipyard.serving.models import LoadedModel, ModelHolder
from shipyard.serving.payload import MISSING, Rows
from shipyard.serving.predlog import LogWriter
from shipyard.serving.routing import CANARY, PRODUCTION, SHADOW, route_for
from shipyard.serving.validation import RequestValidator, batch_frame

logger = logging.getLogger(__name__)

_JSON = orjson.OPT_SERIALIZE_NUMPY


@dataclass(eq=False)
class Job:
    """One accepted request: its rows, id, arrival time (epoch s) and response format."""

    rows: Rows
    request_id: str
    arrived: float
    mlflow_format: bool = False


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    version: str
    route: str


@dataclass(frozen=True)
class _Scored:
    prediction: np.ndarray | None  # None: the model call failed
    proba: np.ndarray | None
    classes: tuple[str, ...]
    score: np.ndarray | None
    latency_ms: float
    error: str | None = None


def _call(model: LoadedModel, frame: Any) -> _Scored:
    start = time.perf_counter()
    out = model.servable.predict_frame(frame)
    latency_ms = (time.perf_counter() - start) * 1000.0
    proba_cols = [c for c in out.columns if c.startswith(P.PROBA_PREFIX)]
    prediction = out[P.PREDICTION].to_numpy()
    if proba_cols:
        proba = out[proba_cols].to_numpy(dtype=np.float64)
        index = model.positive_index
        score = proba[:, index] if index is not None else proba.max(axis=1)
    else:
        proba = None
        numeric = np.issubdtype(prediction.dtype, np.number)
        score = prediction.astype(np.float64) if numeric else np.full(len(prediction), np.nan)
    classes = tuple(c[len(P.PROBA_PREFIX) :] for c in proba_cols)
    return _Scored(prediction, proba, classes, score, latency_ms)


class Scorer:
    """Turns a batch of jobs into replies with the model set current at the start of the batch."""

    def __init__(
        self,
        holder: ModelHolder,
        validator: RequestValidator,
        metrics: ServerMetrics,
        log: LogWriter | None,
        *,
        max_shadow_backlog: int = 8,
    ) -> None:
        self.holder = holder
        self.validator = validator
        self.metrics = metrics
        self.log = log
        self._shadow_pool = ThreadPoolExecutor(1, thread_name_prefix="shipyard-shadow")
        self._shadow_slots = threading.BoundedSemaphore(max_shadow_backlog)

    def __call__(self, jobs: Sequence[Job]) -> list[Reply]:
        models = self.holder.current
        assert models is not None  # the server starts only after a model set is loaded
        groups: dict[str, list[Job]] = {}
        for job in jobs:
            route = route_for(job.rows.key, models.canary_weight) if models.canary is not None else PRODUCTION
            groups.setdefault(route, []).append(job)
        replies: dict[int, Reply] = {}
        for route, group in groups.items():
            model = models.canary if route == CANARY and models.canary is not None else models.production
            for job, reply in zip(group, self._score(model, route, group), strict=True):
                replies[id(job)] = reply
        if models.shadow is not None:
            self._submit_shadow(models.shadow, list(jobs))
        return [replies[id(job)] for job in jobs]

    def _score(self, model: LoadedModel, route: str, group: list[Job]) -> list[Reply]:
        try:
            frame = batch_frame(self.validator, [job.rows for job in group])
            scored = _call(model, frame)
        except Exception as exc:  # noqa: BLE001 - one bad request must not fail its batch-mates
            if len(group) > 1:
                return [reply for job in group for reply in self._score(model, route, [job])]
            logger.warning("Model %s failed on request %s: %s", model.version, group[0].request_id, exc)
            frame = None
            scored = _Scored(None, None, (), None, 0.0, error=f"{type(exc).__name__}: {exc}")
        self._observe(model.version, route, scored)
        if self.log is not None:
            self._log(model.version, route, group, frame, scored)
        return self._replies(model.version, route, group, scored)

    def _observe(self, version: str, route: str, scored: _Scored) -> None:
        if scored.score is None:
            return
        self.metrics.batch_rows.labels(version, route).observe(len(scored.score))
        confidence = scored.proba.max(axis=1) if scored.proba is not None else None
        self.metrics.rows.observe((version, route), scored.score, confidence)

    def _replies(self, version: str, route: str, group: list[Job], scored: _Scored) -> list[Reply]:
        if scored.prediction is None or scored.score is None:
            body = {"detail": f"The model failed on this request: {scored.error}", "model_version": version}
            return [
                Reply(500, orjson.dumps({**body, "request_id": job.request_id}), version, route)
                for job in group
            ]
        replies = []
        start = 0
        keys = (P.PREDICTION, *(P.PROBA_PREFIX + c for c in scored.classes))
        for job in group:
            end = start + job.rows.n
            prediction = scored.prediction[start:end].tolist()
            if job.mlflow_format:  # MLflow's shape: one record per row, as `predict_frame` columns
                columns = [prediction]
                if scored.proba is not None:
                    columns.extend(scored.proba[start:end, i].tolist() for i in range(len(scored.classes)))
                payload: dict[str, Any] = {
                    "predictions": [dict(zip(keys, v, strict=True)) for v in zip(*columns, strict=True)]
                }
            else:
                payload = {
                    "request_id": job.request_id,
                    "model_version": version,
                    "route": route,
                    "predictions": prediction,
                    "scores": scored.score[start:end],
                }
                if scored.proba is not None:
                    payload["probabilities"] = {
                        c: scored.proba[start:end, i] for i, c in enumerate(scored.classes)
                    }
            replies.append(Reply(200, orjson.dumps(payload, option=_JSON), version, route))
            start = end
        return replies

    def _log(self, version: str, route: str, group: list[Job], frame: Any, scored: _Scored) -> None:
        assert self.log is not None
        meta = [(job.request_id, job.rows.n, job.arrived) for job in group]
        rows = sum(n for _, n, _ in meta)
        if frame is None:  # the failed request's own rows, as they were sent
            frame = _raw_frame(group[0].rows)
        self.log.submit(lambda: log_table(version, route, meta, frame, scored), rows)

    def _submit_shadow(self, model: LoadedModel, jobs: list[Job]) -> None:
        if not self._shadow_slots.acquire(blocking=False):
            self.metrics.shadow_skipped.labels(model.version).inc()
            return
        self._shadow_pool.submit(self._shadow, model, jobs)

    def _shadow(self, model: LoadedModel, jobs: list[Job]) -> None:
        try:
            frame = batch_frame(self.validator, [job.rows for job in jobs])
            try:
                scored = _call(model, frame)
            except Exception as exc:  # noqa: BLE001 - a shadow failure is counted and logged, never raised
                self.metrics.shadow_errors.labels(model.version).inc()
                scored = _Scored(None, None, (), None, 0.0, error=f"{type(exc).__name__}: {exc}")
            self._observe(model.version, SHADOW, scored)
            if self.log is not None:
                self._log(model.version, SHADOW, jobs, frame, scored)
        except Exception:  # noqa: BLE001 - e.g. a frame the shadow cannot build: never reaches clients
            logger.exception("Shadow scoring with version %s failed", model.version)
            self.metrics.shadow_errors.labels(model.version).inc()
        finally:
            self._shadow_slots.release()

    def close(self) -> None:
        """Finish queued shadow batches (their rows belong in the log)."""
        self._shadow_pool.shutdown(wait=True)


def _raw_frame(rows: Rows) -> Any:
    import pandas as pd

    return pd.DataFrame({k: [None if v is MISSING else v for v in vals] for k, vals in rows.columns.items()})


def log_table(
    version: str, route: str, meta: list[tuple[str, int, float]], frame: Any, scored: _Scored
) -> Any:
    """The prediction-log rows of one route's batch as a `pyarrow.Table` (contract columns)."""
    import pyarrow as pa

    counts = np.array([n for _, n, _ in meta], dtype=np.int64)
    n = int(counts.sum())
    ok = scored.prediction is not None
    arrived_us = np.array([int(t * 1_000_000) for _, _, t in meta], dtype=np.int64)
    columns: dict[str, Any] = {
        P.REQUEST_ID: pa.array(
            np.repeat(np.array([r for r, _, _ in meta], dtype=object), counts), pa.string()
        ),
        P.ROW: pa.array(np.concatenate([np.arange(c, dtype=np.int32) for c in counts]), pa.int32()),
        P.TS: pa.array(np.repeat(arrived_us, counts), pa.timestamp("us", tz="UTC")),
        P.MODEL_VERSION: pa.array([version] * n, pa.string()),
        P.ROUTE: pa.array([route] * n, pa.string()),
        P.STATUS: pa.array(["ok" if ok else "error"] * n, pa.string()),
        P.LATENCY_MS: pa.array(np.full(n, scored.latency_ms), pa.float64()),
        P.PREDICTION: pa.array(scored.prediction.astype(str) if ok else [None] * n, pa.string()),
        P.SCORE: pa.array(scored.score if ok else [None] * n, pa.float64()),
    }
    if scored.proba is not None:
        for i, name in enumerate(scored.classes):
            columns[P.PROBA_PREFIX + name] = pa.array(scored.proba[:, i], pa.float64())
    for name in frame.columns:
        try:
            columns[P.INPUT_PREFIX + str(name)] = pa.Array.from_pandas(frame[name])
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            columns[P.INPUT_PREFIX + str(name)] = pa.array(frame[name].astype(str), pa.string())
    return pa.table(columns)
