"""Scoring one route's micro-batch: predict once, split the results back, count, log, measure.

Runs on the route's own predict thread (`batching.RoutedBatcher`), taking turns with the other
routes' batches (`exclusive.ExclusiveCalls`) so each logged call time is its own. Before the replies are
returned, the server's counters are updated and the batch's rows are appended to the
prediction log's write-ahead file, so an answered row is never lost with the process.
Shadow scoring runs on its own thread after the replies are ready: its outputs go to the log
and metrics only, and its failures are counted, never seen by a client.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from shipyard.serving import predlog as P
from shipyard.serving.counters import ServerCounters
from shipyard.serving.exclusive import ExclusiveCalls
from shipyard.serving.metrics import ServerMetrics
from shipyard.serving.models import LoadedModel, ModelHolder
from shipyard.serving.payload import MISSING, Rows
from shipyard.serving.prediction_log import SegmentLog
from shipyard.serving.routing import CANARY, PRODUCTION, SHADOW, route_for
from shipyard.serving.validation import RequestValidator, batch_frame

if TYPE_CHECKING:
    from shipyard.serving.logtable import PredictionRecord

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


def _describe(exc: Exception) -> str:
    """`Type: first line of the message`, at most 300 characters (the log's `error` column)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:300]


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
    """Scores one route's batch of jobs with the model set current at the start of the batch.

    `route(job)` picks the route on the event loop; `score(route, jobs)` runs on that route's
    own predict thread, so a slow canary's requests never queue in front of production's; a
    batch waits for another route's batch in progress (production only briefly, see
    `ExclusiveCalls`), so the routes' call times are measured alike.
    """

    def __init__(
        self,
        holder: ModelHolder,
        validator: RequestValidator,
        metrics: ServerMetrics,
        log: SegmentLog[PredictionRecord] | None,
        counters: ServerCounters,
        *,
        max_shadow_backlog: int = 8,
    ) -> None:
        self.holder = holder
        self.validator = validator
        self.metrics = metrics
        self.log = log
        self.counters = counters
        self._shadow_pool = ThreadPoolExecutor(1, thread_name_prefix="shipyard-shadow")
        self._shadow_slots = threading.BoundedSemaphore(max_shadow_backlog)
        self._calls = ExclusiveCalls()  # routes take turns: each call's logged time is its own

    def route(self, job: Job) -> str:
        """`canary` or `production` for `job` under the current traffic split."""
        models = self.holder.current
        assert models is not None  # the server starts only after a model set is loaded
        return route_for(job.rows.key, models.canary_weight) if models.canary is not None else PRODUCTION

    def score(self, route: str, jobs: Sequence[Job]) -> list[Reply]:
        """Replies for `jobs` (same order), all routed to `route` (production if the canary left)."""
        models = self.holder.current
        assert models is not None
        if route == CANARY and models.canary is not None:
            model = models.canary
        else:
            model, route = models.production, PRODUCTION
        with self._calls.turn(route):
            replies = self._score(model, route, list(jobs))
        if models.shadow is not None:
            self._submit_shadow(models.shadow, list(jobs))
        return replies

    def _score(self, model: LoadedModel, route: str, group: list[Job]) -> list[Reply]:
        try:
            frame = batch_frame(self.validator, [job.rows for job in group])
            scored = _call(model, frame)
        except Exception as exc:  # noqa: BLE001 - one bad request must not fail its batch-mates
            if len(group) > 1:
                return [reply for job in group for reply in self._score(model, route, [job])]
            logger.warning("Model %s failed on request %s: %s", model.version, group[0].request_id, exc)
            scored = _Scored(None, None, (), None, 0.0, error=_describe(exc))
        self._account(model.version, route, group, scored)
        return self._replies(model.version, route, group, scored)

    def _account(self, version: str, route: str, group: list[Job], scored: _Scored) -> None:
        """Metrics, the server's own counters, then the log line: all before any reply leaves."""
        rows = sum(job.rows.n for job in group)
        failed = scored.score is None
        self.counters.add(
            version,
            requests=len(group),
            errors=len(group) if failed else 0,
            rows_scored=0 if failed else rows,
        )
        self._observe(version, route, scored)
        if self.log is not None:
            self.log.append(log_record(version, route, group, scored))

    def _observe(self, version: str, route: str, scored: _Scored) -> None:
        if scored.score is None:
            return
        self.metrics.batch_rows.labels(version, route).observe(len(scored.score))
        confidence = scored.proba.max(axis=1) if scored.proba is not None else None
        self.metrics.observe_rows((version, route), scored.score, confidence)

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

    def _submit_shadow(self, model: LoadedModel, jobs: list[Job]) -> None:
        if not self._shadow_slots.acquire(blocking=False):
            self.metrics.shadow_skipped.labels(model.version).inc()
            return
        self._shadow_pool.submit(self._shadow, model, jobs)

    def _shadow(self, model: LoadedModel, jobs: list[Job]) -> None:
        try:
            with self._calls.turn(SHADOW):
                try:
                    scored = _call(model, batch_frame(self.validator, [job.rows for job in jobs]))
                except Exception as exc:  # noqa: BLE001 - a shadow failure is counted and logged, never raised
                    self.metrics.shadow_errors.labels(model.version).inc()
                    scored = _Scored(None, None, (), None, 0.0, error=_describe(exc))
                self._account(model.version, SHADOW, jobs, scored)
        except Exception:  # noqa: BLE001 - never reaches clients
            logger.exception("Shadow scoring with version %s failed", model.version)
            self.metrics.shadow_errors.labels(model.version).inc()
        finally:
            self._shadow_slots.release()

    def close(self) -> None:
        """Finish queued shadow batches (their rows belong in the log)."""
        self._shadow_pool.shutdown(wait=True)


def _inputs(parts: list[Rows]) -> dict[str, list[Any]]:
    """The requests' fields as sent, one list per field over every row (absent: `MISSING`)."""
    if len(parts) == 1:
        return parts[0].columns
    names = dict.fromkeys(name for part in parts for name in part.columns)
    return {
        name: list(chain.from_iterable(p.columns.get(name, [MISSING] * p.n) for p in parts)) for name in names
    }


def log_record(version: str, route: str, group: list[Job], scored: _Scored) -> PredictionRecord:
    """One model call's rows on one route as a prediction-log record (see `logtable`)."""
    ok = scored.prediction is not None and scored.score is not None
    rows = sum(job.rows.n for job in group)
    record: PredictionRecord = {
        "version": version,
        "route": route,
        "status": "ok" if ok else "error",
        "error": scored.error,
        "latency_ms": scored.latency_ms,
        "batch_rows": rows,
        "requests": [[job.request_id, job.rows.n, job.arrived] for job in group],
        "inputs": _inputs([job.rows for job in group]),
        "prediction": None,
        "score": None,
        "proba": None,
    }
    if ok:
        assert scored.prediction is not None and scored.score is not None
        numeric = scored.prediction.dtype.kind in "biuf"  # else labels as Python objects
        record["prediction"] = (
            np.ascontiguousarray(scored.prediction) if numeric else scored.prediction.tolist()
        )
        record["score"] = np.ascontiguousarray(scored.score, dtype=np.float64)
        if scored.proba is not None:
            record["proba"] = {
                c: np.ascontiguousarray(scored.proba[:, i]) for i, c in enumerate(scored.classes)
            }
    return record
