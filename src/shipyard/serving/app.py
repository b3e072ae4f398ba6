"""The ASGI app: `/predict`, `/invocations`, `/feedback`, health, `/v1/models`, `/metrics`, `/openapi.json`.

The two scoring routes are served by `endpoint.ScoringEndpoint` in front of the FastAPI app
(which serves the rest). Nothing a client sends can crash the process: a bad request gets
400/401/403/408/409/413/415/422/429 with every problem listed, a model failure a 500 with
no internals. With tokens configured every route but the health checks, `/version`,
`/openapi.json` and the public part of `/v1/models` needs a bearer token of the right scope.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from shipyard.config.policy import ServingConfig
from shipyard.serving import predlog as P
from shipyard.serving.auth import ADMIN, FEEDBACK, TokenStore, Verdict, authorize
from shipyard.serving.batching import RoutedBatcher
from shipyard.serving.counters import ServerCounters
from shipyard.serving.endpoint import INTERNAL_ERROR, ScoringEndpoint
from shipyard.serving.feedback import LabelGuard, RequestIds
from shipyard.serving.follow import DesiredSource
from shipyard.serving.logtable import FeedbackLayout, LogSchema
from shipyard.serving.metrics import ServerMetrics
from shipyard.serving.models import ModelHolder
from shipyard.serving.openapi import openapi_document
from shipyard.serving.payload import RequestError
from shipyard.serving.prediction_log import SegmentLog
from shipyard.serving.scoring import Job, Reply, Scorer
from shipyard.serving.validation import RequestValidator
from shipyard.workspace.logs import LogLocation

logger = logging.getLogger(__name__)

_JSON = "application/json"


@dataclass
class ServerState:
    """Everything one server holds; built by `shipyard.serving.server.build_state`."""

    config: ServingConfig
    holder: ModelHolder
    validator: RequestValidator
    logs: LogLocation  # where the prediction and feedback logs go: the workspace's
    metrics: ServerMetrics = field(default_factory=ServerMetrics)
    desired: DesiredSource | None = None  # None: serves the command line's versions, follows nothing
    predictions: SegmentLog | None = None
    feedback: SegmentLog | None = None
    tokens: TokenStore | None = None  # None or empty: no authentication (loopback only)
    request_ids: RequestIds = field(default_factory=lambda: RequestIds(secrets.token_bytes(32)))
    ready: bool = True

    def __post_init__(self) -> None:
        cfg = self.config
        logs = self.logs
        self.counters = ServerCounters(logs.folder(P.PREDICTIONS_DIR))
        self.metrics.watch(self.counters)
        self.labels = LabelGuard(rate_per_s=cfg.feedback_labels_per_s, burst=cfg.max_feedback_items)
        if cfg.log_predictions and self.predictions is None:
            self.predictions = SegmentLog(
                logs.folder(P.PREDICTIONS_DIR),
                LogSchema(self.validator.schema),
                self.counters,
                flush_rows=cfg.log_flush_rows,
                flush_interval_s=cfg.log_flush_interval_s,
                shared=logs,
                on_upload=self._count_upload(P.PREDICTIONS_DIR),
            )
        if self.feedback is None:
            self.feedback = SegmentLog(
                logs.folder(P.FEEDBACK_DIR),
                FeedbackLayout(),
                ServerCounters(None, server_id=self.counters.server_id),  # labels have no version
                flush_rows=cfg.log_flush_rows,
                flush_interval_s=cfg.log_flush_interval_s,
                shared=logs,
                on_upload=self._count_upload(P.FEEDBACK_DIR),
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

    def _count_upload(self, log: str) -> Callable[[bool], None]:
        uploads = self.metrics.log_uploads
        return lambda ok: uploads.labels(log, "ok" if ok else "failed").inc()

    def show_served(self) -> None:
        current = self.holder.current
        routes = () if current is None else (
            ("production", current.production),
            ("canary", current.canary),
            ("shadow", current.shadow),
        )  # fmt: skip
        self.metrics.show_served({(model.version, route) for route, model in routes if model is not None})

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


def _refused(verdict: Verdict) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if verdict.status == 401 else None
    return _json({"detail": verdict.message}, verdict.status, headers)


async def _read_body(request: Request, limit: int, timeout_s: float) -> bytes:
    from shipyard.serving.endpoint import read_body

    return await read_body(request.receive, dict(request.scope["headers"]), limit, timeout_s)


def create_app(state: ServerState) -> ScoringEndpoint:
    """The ASGI app serving `state`: the scoring fast path in front of a FastAPI app whose lifespan
    runs the desired-state watcher and the final flush."""
    from shipyard.serving.follow import watch_desired

    cfg = state.config
    metrics = state.metrics

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        watcher = None
        if state.desired is not None:
            watcher = asyncio.get_running_loop().create_task(watch_desired(state))
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
            await state.close()

    app = FastAPI(
        title="Shipyard model server", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )

    def check(request: Request, scope: str) -> Verdict:
        return authorize(state.tokens, request.headers.get("authorization"), scope)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _json({"detail": INTERNAL_ERROR}, 500)

    @app.post("/feedback", status_code=202)
    async def feedback(request: Request) -> Response:
        """Delayed ground truth: `{"request_id", "label", "row"?}` or a list of them."""
        verdict = check(request, FEEDBACK)
        if verdict.status:
            return _refused(verdict)
        retry = "1"
        try:
            body = await _read_body(request, cfg.max_payload_bytes, cfg.body_timeout_s)
            items = _feedback_items(body, cfg.max_feedback_items)
            client = verdict.subject or (request.client.host if request.client else "")
            wait_s = state.labels.take(client, len(items))
            if wait_s:
                retry = str(max(1, round(wait_s)))
                raise RequestError(
                    429, f"Too many labels: at most {cfg.feedback_labels_per_s:g}/s; retry in {retry} s."
                )
            _check_issued(state, items)
        except RequestError as exc:
            metrics.invalid.labels(str(exc.status)).inc()
            headers = {"Retry-After": retry} if exc.status == 429 else None
            return _json(exc.body, exc.status, headers)
        assert state.feedback is not None
        state.feedback.append({"ts": time.time(), "labels": items})
        return _json({"accepted": len(items)}, 202)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> Response:
        ready = state.ready and state.holder.current is not None
        return _json({"ready": ready}, 200 if ready else 503)

    async def ping() -> Response:
        """MLflow's health check: 200 with a newline body once a model is loaded."""
        ready = state.ready and state.holder.current is not None
        return Response("\n", status_code=200 if ready else 503, media_type=_JSON)

    app.get("/ping")(ping)
    app.get("/health")(ping)

    @app.get("/version")
    async def version() -> Response:
        """The MLflow version this server speaks (as `mlflow models serve` answers)."""
        return Response(_mlflow_version(), media_type="text/plain")

    @app.get("/v1/models")
    async def models(request: Request) -> Response:
        """What is served; with an admin token (or without authentication) the operational details."""
        described = state.holder.current.describe() if state.holder.current is not None else {}
        failed = state.holder.last_error is not None
        described["last_error"] = "Loading the desired state failed; see the server log." if failed else None
        if state.tokens and check(request, ADMIN).status:
            return _json(described)
        if state.tokens:
            described["last_error"] = state.holder.last_error
        described["swaps"] = state.holder.swaps
        described["desired_file"] = None
        if state.desired is not None:
            described.update(state.desired.describe())
        if state.predictions is not None:
            described["prediction_log"] = state.predictions.describe()
        return _json(described)

    @app.post("/v1/reload")
    async def reload(request: Request) -> Response:
        """Apply the newest desired state now (admin)."""
        verdict = check(request, ADMIN)
        if verdict.status:
            return _refused(verdict)
        if state.desired is None:
            return _json({"detail": "This server was started without --desired: nothing to reload."}, 409)
        from shipyard.serving.follow import reconcile

        applied = await reconcile(state)
        return _json({"applied": applied}, 200 if applied else 503)

    @app.get("/metrics")
    async def prometheus(request: Request) -> Response:
        verdict = check(request, ADMIN)
        if verdict.status:
            return _refused(verdict)
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    document = orjson.dumps(openapi_document(state.validator, cfg))

    @app.get("/openapi.json")
    async def openapi() -> Response:
        return Response(document, media_type=_JSON)

    return ScoringEndpoint(app, state)


def _feedback_items(body: bytes, max_items: int) -> list[tuple[str, int, str]]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestError(400, "Malformed JSON: send a JSON object or a list of objects.") from None
    entries = payload if isinstance(payload, list) else [payload]
    if len(entries) > max_items:
        raise RequestError(
            413, f"{len(entries)} labels in one request; serving.max_feedback_items is {max_items}."
        )
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
        row, label = entry.get("row", 0), entry["label"]
        if type(row) is not int or not 0 <= row < 2**31:
            problems.append(
                {"index": i, "field": "row", "rule": "wrong_dtype", "message": "a row index >= 0"}
            )
            continue
        if type(label) not in (str, int, float, bool) or len(str(label)) > 256:
            problems.append(
                {
                    "index": i,
                    "field": "label",
                    "rule": "wrong_dtype",
                    "message": "a scalar of at most 256 chars",
                }
            )
            continue
        items.append((entry["request_id"], row, str(label)))
    if problems or not items:
        raise RequestError(422, f"{len(problems) or 'No'} invalid feedback entries.", problems[:20])
    return items


def _check_issued(state: ServerState, items: list[tuple[str, int, str]]) -> None:
    """Refuse labels for ids this server did not issue (or too long ago), rows it did not score, repeats."""
    retention_s = state.config.feedback_retention_days * 86_400
    rows_of: dict[str, int | None] = {}
    problems = []
    for i, (request_id, row, _) in enumerate(items):
        if request_id not in rows_of:
            rows_of[request_id] = state.request_ids.rows_of(request_id, retention_s=retention_s)
        rows = rows_of[request_id]
        if rows is None or row >= rows:
            rule = "unknown_request_id" if rows is None else "row_out_of_range"
            problems.append({"index": i, "field": "request_id" if rows is None else "row", "rule": rule})
    if problems:
        raise RequestError(
            422,
            f"{len(problems)} label(s) name no row this server scored in the last "
            f"{state.config.feedback_retention_days:g} days: send the 'request_id' of a /predict answer "
            "and a 'row' below its number of rows.",
            problems[:20],
        )
    repeated = state.labels.claim([(r, row) for r, row, _ in items])
    if repeated:
        raise RequestError(
            409,
            f"{len(repeated)} row(s) already have a label; the first label wins.",
            [{"index": i, "rule": "already_labelled"} for i in repeated[:20]],
        )


def _mlflow_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlflow")
    except PackageNotFoundError:
        return "unknown"
