"""`POST /predict` and `POST /invocations` as a bare ASGI handler in front of the FastAPI app.

These two routes carry all the traffic, so they skip the framework's request objects,
routing and middleware: headers are read from the ASGI scope, the body is read with a size
limit, decoded by orjson, checked against the schema and handed to the micro-batcher.
Every other path goes to the FastAPI app. Any failure becomes a JSON error response.
"""

from __future__ import annotations

import io
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

import orjson

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


async def read_body(receive: Receive, headers: dict[bytes, bytes], limit: int) -> bytes:
    """The request body, refusing (413) more than `limit` bytes before or while reading it."""
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
        frame = pd.read_csv(io.BytesIO(body))
    except (ValueError, pd.errors.ParserError) as exc:
        raise RequestError(400, f"Malformed CSV: {exc}.") from None
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
        request_id = headers.get(b"x-request-id", b"").decode("latin-1") or uuid.uuid4().hex
        try:
            status, body, extra = await self._score(scope, receive, headers, request_id)
        except Exception:  # noqa: BLE001 - the last line of defence: answer 500, keep serving
            logger.exception("Request %s failed", request_id)
            status, extra = 500, []
            body = orjson.dumps(
                {"detail": "Internal server error; see the server log.", "request_id": request_id}
            )
        response_headers = [_JSON, (b"x-request-id", request_id.encode("latin-1")), *extra]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})

    async def _score(
        self, scope: Scope, receive: Receive, headers: dict[bytes, bytes], request_id: str
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        state, cfg = self.state, self.state.config
        start, arrived = time.perf_counter(), time.time()
        mlflow_format = ROUTES[scope["path"]]
        try:
            body = await read_body(receive, headers, cfg.max_payload_bytes)
            if mlflow_format and headers.get(b"content-type", b"").startswith(b"text/csv"):
                rows = csv_rows(body, cfg.max_request_rows)
            else:
                rows = parse_body(body, key_field=cfg.key_field, max_rows=cfg.max_request_rows)
            if rows.key is None and b"x-request-key" in headers:
                rows.key = headers[b"x-request-key"].decode("latin-1")
            problems = state.validator.check(rows)
            if problems:
                raise RequestError(
                    422, f"The request failed validation: {len(problems)} problem(s).", problems
                )
        except RequestError as exc:
            state.metrics.invalid.labels(str(exc.status)).inc()
            return exc.status, orjson.dumps({**exc.body, "request_id": request_id}), []
        reply = await state.batcher.submit(Job(rows, request_id, arrived, mlflow_format), rows.n)
        state.metrics.requests.labels(
            reply.version, reply.route, "ok" if reply.status == 200 else "error"
        ).inc()
        state.metrics.latency.labels(reply.version, reply.route).observe(time.perf_counter() - start)
        extra = [(b"x-model-version", reply.version.encode()), (b"x-route", reply.route.encode())]
        return reply.status, reply.body, extra
