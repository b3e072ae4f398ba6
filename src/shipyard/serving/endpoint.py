"""`POST /predict` and `POST /invocations` as a bare ASGI handler in front of the FastAPI app.

These two routes carry all the traffic, so they skip the framework's request objects,
routing and middleware: the bearer token is checked, headers are read from the ASGI scope,
the body is read with a size and time limit, decoded by orjson, checked against the schema
and handed to the micro-batcher. Every other path goes to the FastAPI app.

Any failure becomes a JSON error naming the request id and never an exception's class,
message or a path (those go to the server log). `/invocations` answers like MLflow's
scoring server: `{"error_code", "message"}`, 400 where MLflow says 400 (a request that
fails validation), 415 for a content type other than JSON or CSV or a charset other than
UTF-8. The request id is issued by the server (`feedback.RequestIds`); a client's
`X-Request-ID` comes back as `X-Correlation-ID` only.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

import orjson

from shipyard.serving.auth import PREDICT, authorize
from shipyard.serving.payload import RequestError, Rows, parse_body
from shipyard.serving.scoring import Job

if TYPE_CHECKING:
    from shipyard.serving.app import ServerState

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ROUTES = {"/predict": False, "/invocations": True}  # path -> MLflow response format
_JSON = (b"content-type", b"application/json")
MAX_PROBLEMS = 50
_CORRELATION = re.compile(r"[\x21-\x7e]{1,128}")
MLFLOW_ERROR_CODES = {
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    429: "REQUEST_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    503: "TEMPORARILY_UNAVAILABLE",
}
MODEL_FAILED = "The model failed on this request; the server log has the details under this request id."
INTERNAL_ERROR = "Internal server error; the server log has the details under this request id."


def error_payload(status: int, body: dict[str, Any], request_id: str, *, mlflow: bool) -> tuple[int, bytes]:
    """The status and JSON body of a refused request: Shipyard's `detail` or MLflow's `error_code`."""
    if not mlflow:
        return status, orjson.dumps({**body, "request_id": request_id})
    status = 400 if status == 422 else status  # MLflow answers 400 to input that fails its schema
    mlflow_body = {"error_code": MLFLOW_ERROR_CODES.get(status, "BAD_REQUEST"), "message": body["detail"]}
    extra = {k: v for k, v in body.items() if k != "detail"}
    return status, orjson.dumps({**mlflow_body, **extra, "request_id": request_id})


def correlation_id(headers: dict[bytes, bytes]) -> str | None:
    """The client's `X-Request-ID`, kept only as a correlation id (printable, at most 128 chars)."""
    value = headers.get(b"x-request-id", b"").decode("latin-1")
    return value if _CORRELATION.fullmatch(value) else None


def media_type(headers: dict[bytes, bytes], *, required: bool) -> str:
    """`json` or `csv` from Content-Type, refusing others and non-UTF-8 charsets with 415 (as MLflow)."""
    raw = headers.get(b"content-type", b"").decode("latin-1")
    mime, *params = (part.strip() for part in raw.split(";"))
    mime = mime.lower()
    if not mime and not required:
        return "json"
    pairs = dict(p.partition("=")[::2] for p in params if p)
    charset = pairs.pop("charset", "utf-8").strip('"').lower()
    if charset not in ("utf-8", "utf8") or pairs:
        raise RequestError(415, "Only UTF-8 bodies without other Content-Type parameters are accepted.")
    if mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json")):
        return "json"
    if mime == "text/csv" and required:
        return "csv"
    accepted = "application/json or text/csv" if required else "application/json"
    shown = mime[:64] or "none"
    raise RequestError(415, f"Content-Type must be {accepted}; got {shown!r}.")


async def read_body(
    receive: Receive, headers: dict[bytes, bytes], limit: int, timeout_s: float = 30.0
) -> bytes:
    """The request body, refusing more than `limit` bytes (413) or a body slower than `timeout_s` (408)."""
    try:
        return await asyncio.wait_for(_read_body(receive, headers, limit), timeout_s)
    except TimeoutError:
        raise RequestError(408, f"The body did not arrive within {timeout_s:g} s.") from None


async def _read_body(receive: Receive, headers: dict[bytes, bytes], limit: int) -> bytes:
    length = headers.get(b"content-length", b"")
    if length.isdigit() and int(length) > limit:
        raise RequestError(413, f"The body has {int(length)} bytes; serving.max_payload_bytes is {limit}.")
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RequestError(400, "The client disconnected before sending the whole body.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"The body exceeds serving.max_payload_bytes = {limit} bytes.")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def csv_rows(body: bytes, max_rows: int) -> Rows:
    """A `text/csv` body (MLflow clients may send one) as columns."""
    import pandas as pd

    try:
        frame = pd.read_csv(io.BytesIO(body), encoding="utf-8", encoding_errors="strict")
    except Exception:  # noqa: BLE001 - pandas' parser on hostile input can raise many types: all are bad CSV
        raise RequestError(400, "Malformed CSV: send a UTF-8 header line, then one line per row.") from None
    if frame.empty:
        raise RequestError(422, "The CSV has no rows: send a header line and at least one row.")
    if len(frame) > max_rows:
        raise RequestError(413, f"The request has {len(frame)} rows; serving.max_request_rows is {max_rows}.")
    columns = {str(k): [None if v != v else v for v in frame[k].tolist()] for k in frame.columns}
    return Rows(columns, len(frame))


class ScoringEndpoint:
    """ASGI app: scores POSTs to `ROUTES` itself and passes everything else to `app`."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in ROUTES:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        mlflow_format = ROUTES[scope["path"]]
        refused_id = self.state.request_ids.issue(0)  # the id of a refused request: nothing to label
        ids = [refused_id]
        extra: list[tuple[bytes, bytes]] = []
        try:
            status, body, extra = await self._score(scope, receive, headers, ids)
        except Exception:  # noqa: BLE001 - the last line of defence: answer 500, keep serving
            logger.exception("Request %s failed", ids[-1])
            status, body = error_payload(500, {"detail": INTERNAL_ERROR}, ids[-1], mlflow=mlflow_format)
        correlation = correlation_id(headers)
        response_headers = [_JSON, (b"x-request-id", ids[-1].encode()), *extra]
        if correlation is not None:
            response_headers.append((b"x-correlation-id", correlation.encode("latin-1")))
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})

    async def _score(
        self, scope: Scope, receive: Receive, headers: dict[bytes, bytes], ids: list[str]
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        state, cfg = self.state, self.state.config
        start, arrived = time.perf_counter(), time.time()
        mlflow_format = ROUTES[scope["path"]]
        try:
            verdict = authorize(state.tokens, headers.get(b"authorization", b"").decode("latin-1"), PREDICT)
            if verdict.status:
                raise RequestError(verdict.status, verdict.message)
            kind = media_type(headers, required=mlflow_format)
            body = await read_body(receive, headers, cfg.max_payload_bytes, cfg.body_timeout_s)
            if kind == "csv":
                rows = csv_rows(body, cfg.max_request_rows)
            else:
                rows = parse_body(body, key_field=cfg.key_field, max_rows=cfg.max_request_rows)
            if rows.key is None and b"x-request-key" in headers:
                rows.key = headers[b"x-request-key"].decode("latin-1")
            problems = state.validator.check(rows)
            if problems:
                shown = f" (the first {MAX_PROBLEMS} listed)" if len(problems) > MAX_PROBLEMS else ""
                message = f"The request failed validation: {len(problems)} problem(s){shown}."
                raise RequestError(422, message, problems[:MAX_PROBLEMS])
        except RequestError as exc:
            state.metrics.invalid.labels(str(exc.status)).inc()
            status, body = error_payload(exc.status, exc.body, ids[-1], mlflow=mlflow_format)
            auth = [(b"www-authenticate", b"Bearer")] if exc.status == 401 else []
            return status, body, auth
        request_id = state.request_ids.issue(rows.n)
        ids.append(request_id)
        reply = await state.batcher.submit(Job(rows, request_id, arrived, mlflow_format), rows.n)
        state.metrics.requests.labels(
            reply.version, reply.route, "ok" if reply.status == 200 else "error"
        ).inc()
        state.metrics.latency.labels(reply.version, reply.route).observe(time.perf_counter() - start)
        extra = [(b"x-model-version", reply.version.encode()), (b"x-route", reply.route.encode())]
        if reply.status != 200:  # the scorer logged the model's exception; the client gets no internals
            detail = {"detail": MODEL_FAILED, "model_version": reply.version}
            failed = 400 if mlflow_format else reply.status  # MLflow answers a model exception with 400
            status, body = error_payload(failed, detail, request_id, mlflow=mlflow_format)
            return status, body, extra
        return reply.status, reply.body, extra
