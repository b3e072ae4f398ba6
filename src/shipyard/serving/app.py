"""The ASGI app: `/predict`, `/invocations`, `/feedback`, health, `/v1/models` and `/metrics`.

The two scoring routes are served by `endpoint.ScoringEndpoint` in front of the FastAPI app
(which serves the rest). Nothing a client sends can crash the process: a bad request gets
400/413/422 with every problem listed, a model failure a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from shipyard.config.policy import ServingConfig
from shipyard.serving import predlog as P
from shipyard.serving.batching import RoutedBatcher
from shipyard.serving.counters import ServerCounters
from shipyard.serving.endpoint import ScoringEndpoint
from shipyard.serving.metrics import ServerMetrics
from shipyard.serving.models import ModelHolder
from shipyard.serving.payload import RequestError
from shipyard.serving.prediction_log import PredictionLog
from shipyard.serving.predlog import LogWriter
from shipyard.serving.scoring import Job, Reply, Scorer
from shipyard.serving.validation import RequestValidator

logger = logging.getLogger(__name__)

_JSON = "application/json"


@dataclass
class ServerState:
    """Everything one server holds; built by `shipyard.serving.server.build_state`."""

    config: ServingConfig
    holder: ModelHolder
    validator: RequestValidator
    project_root: Path
    metrics: ServerMetrics = field(default_factory=ServerMetrics)
    desired_path: Path | None = None
    predictions: PredictionLog | None = None
    feedback: LogWriter | None = None
    ready: bool = True

    def __post_init__(self) -> None:
        cfg = self.config
        self.counters = ServerCounters(P.prediction_log_dir(self.project_root))
        self.metrics.watch(self.counters)
        if cfg.log_predictions and self.predictions is None:
            self.predictions = PredictionLog(
                P.prediction_log_dir(self.project_root),
                self.validator.schema,
                self.counters,
                flush_rows=cfg.log_flush_rows,
                flush_interval_s=cfg.log_flush_interval_s,
            )
        if self.feedback is None:
            self.feedback = LogWriter(
                P.feedback_dir(self.project_root),
                max_queue_rows=cfg.log_queue_rows,
                flush_interval_s=cfg.log_flush_interval_s,
            )
        self.scorer = Scorer(self.holder, self.validator, self.metrics, self.predictions, self.counters)
        self.batcher: RoutedBatcher[Job, Reply] = RoutedBatcher(
            self.scorer.route,
            self.scorer.score,
            max_batch_rows=cfg.max_batch_rows,
            max_wait_ms=cfg.max_wait_ms,
            enabled=cfg.batching,
        )
        self.show_served()

    def show_served(self) -> None:
        gauge = self.metrics.served
        gauge.clear()
        current = self.holder.current
        if current is None:
            return
        for route, model in (
            ("production", current.production),
            ("canary", current.canary),
            ("shadow", current.shadow),
        ):
            if model is not None:
                gauge.labels(model.version, route).set(1)

    async def close(self) -> None:
        """Finish queued requests and shadow work, then write every logged row."""
        self.ready = False
        await self.batcher.drain()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._close_threads)

    def _close_threads(self) -> None:
        self.batcher.close()
        self.scorer.close()
        for writer in (self.predictions, self.feedback):
            if writer is not None:
                writer.close()
        self.counters.write()


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type=_JSON, headers=headers)


async def _read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise RequestError(413, f"The body has {length} bytes; serving.max_payload_bytes is {limit}.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"The body exceeds serving.max_payload_bytes = {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(state: ServerState) -> ScoringEndpoint:
    """The ASGI app serving `state`: the scoring fast path in front of a FastAPI app whose lifespan
    runs the deploy-file watcher and the final flush."""
    from shipyard.serving.server import watch_desired

    cfg = state.config
    metrics = state.metrics

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        watcher = None
        if state.desired_path is not None:
            watcher = asyncio.get_running_loop().create_task(watch_desired(state))
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
            await state.close()

    app = FastAPI(title="Shipyard model server", lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.post("/feedback", status_code=202)
    async def feedback(request: Request) -> Response:
        """Delayed ground truth: `{"request_id", "label", "row"?}` or a list of them."""
        try:
            items = _feedback_items(await _read_body(request, cfg.max_payload_bytes))
        except RequestError as exc:
            metrics.invalid.labels(str(exc.status)).inc()
            return _json(exc.body, exc.status)
        assert state.feedback is not None
        now = time.time()
        state.feedback.submit(lambda: _feedback_table(items, now), len(items))
        return _json({"accepted": len(items)}, 202)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> Response:
        ready = state.ready and state.holder.current is not None
        return _json({"ready": ready}, 200 if ready else 503)

    @app.get("/v1/models")
    async def models() -> Response:
        described = state.holder.describe()
        described["desired_file"] = None if state.desired_path is None else str(state.desired_path)
        if state.predictions is not None:
            described["prediction_log"] = state.predictions.describe()
        return _json(described)

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return ScoringEndpoint(app, state)


def _feedback_items(body: bytes) -> list[tuple[str, int, str]]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, f"Malformed JSON: {exc}.") from None
    entries = payload if isinstance(payload, list) else [payload]
    items, problems = [], []
    for i, entry in enumerate(entries):
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("request_id"), str)
            or "label" not in entry
        ):
            problems.append(
                {"index": i, "rule": "shape", "message": "needs 'request_id' (string) and 'label'"}
            )
            continue
        row = entry.get("row", 0)
        if type(row) is not int or row < 0:
            problems.append({"index": i, "field": "row", "value": row, "rule": "wrong_dtype"})
            continue
        items.append((entry["request_id"], row, str(entry["label"])))
    if problems or not items:
        raise RequestError(422, f"{len(problems) or 'No'} invalid feedback entries.", problems)
    return items


def _feedback_table(items: list[tuple[str, int, str]], now: float) -> Any:
    import pyarrow as pa

    return pa.table(
        {
            P.REQUEST_ID: pa.array([i[0] for i in items], pa.string()),
            P.ROW: pa.array([i[1] for i in items], pa.int32()),
            P.LABEL: pa.array([i[2] for i in items], pa.string()),
            P.TS: pa.array([int(now * 1_000_000)] * len(items), pa.timestamp("us", tz="UTC")),
        }
    )
