"""`shipyard traffic replay`: rows of a CSV/Parquet file sent as real HTTP requests to a local server.

Bounded on purpose: a fixed request rate, a fixed duration, a cap on requests in flight, and
loopback addresses only; it drives rollouts in the demo and the tests, it is not a load
tester for other people's servers. With `feedback`, each row's label is posted to /feedback
after its prediction (under the request id the server issued), so rollout analysis can
compute business metrics. A server that requires tokens gets `SHIPYARD_CLIENT_TOKEN` as a
bearer token.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import math
import os
import signal
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from shipyard.errors import ConfigError

if TYPE_CHECKING:
    import httpx


def check_loopback(url: str) -> str:
    """`url` without a trailing slash, or `ConfigError` unless it is http(s) on a loopback address."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme not in ("http", "https") or not loopback:
        raise ConfigError(
            f"--url: traffic replay sends only to a server on this machine (127.0.0.1, ::1 or "
            f"localhost over http). Got {url!r}; start the server locally with 'shipyard serve'."
        )
    return url.rstrip("/")


def load_rows(
    path: Path, *, target: str, keep_target: bool = False
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """JSON-ready records of a CSV or Parquet file, and the target's labels when it has them."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"No file to replay at {path}. Give a CSV or Parquet file of raw rows.")
    if path.suffix.lower() in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
    elif path.suffix.lower() == ".csv":
        frame = pd.read_csv(path)
    else:
        raise ConfigError(f"{path}: traffic replay reads .csv or .parquet files. Got {path.suffix!r}.")
    if frame.empty:
        raise ConfigError(f"{path} has no rows to replay.")
    labels = frame[target].tolist() if target in frame.columns else None
    if not keep_target and target in frame.columns:
        frame = frame.drop(columns=[target])
    records = json.loads(frame.to_json(orient="records", date_format="iso"))
    return records, labels


@dataclass
class ReplayResult:
    """What a replay sent and got back; `failed` counts non-2xx answers and transport errors."""

    sent: int = 0
    ok: int = 0
    failed: int = 0
    feedback: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    versions: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return math.nan
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "ok": self.ok,
            "failed": self.failed,
            "feedback": self.feedback,
            "seconds": round(self.seconds, 3),
            "rps": round(self.sent / self.seconds, 2) if self.seconds else 0.0,
            "latency_ms": {f"p{q}": self.percentile(q) for q in (50, 95, 99)},
            "versions": dict(self.versions),
            "errors": dict(self.errors.most_common(5)),
        }


@dataclass(frozen=True)
class ReplayPlan:
    """How to replay: `rps` requests per second for `duration` seconds, `rows` rows each."""

    url: str
    rps: float
    duration: float
    rows: int = 1
    feedback: bool = False
    max_in_flight: int = 64
    timeout: float = 30.0


def replay(plan: ReplayPlan, records: list[dict[str, Any]], labels: list[Any] | None = None) -> ReplayResult:
    """Send `records` (cycled) to `plan.url`/predict as paced requests; block until done."""
    if plan.rps <= 0 or plan.duration <= 0 or plan.rows < 1:
        raise ConfigError(
            f"--rps and --duration must be > 0 and --rows >= 1. Got rps={plan.rps}, "
            f"duration={plan.duration}, rows={plan.rows}."
        )
    if plan.feedback and labels is None:
        raise ConfigError("--feedback needs the target column in the file, to post its labels.")
    return asyncio.run(_replay(plan, records, labels))


def _stop_on_signals(stop: asyncio.Event) -> list[signal.Signals]:
    """SIGINT and SIGTERM end the replay early, still with its summary (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return []
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return [signal.SIGINT, signal.SIGTERM]


async def _replay(plan: ReplayPlan, records: list[dict[str, Any]], labels: list[Any] | None) -> ReplayResult:
    import httpx

    url = check_loopback(plan.url)
    result = ReplayResult()
    slots = asyncio.Semaphore(plan.max_in_flight)
    stop = asyncio.Event()
    handled = _stop_on_signals(stop)
    # idle connections expire before the server's keep-alive timeout (uvicorn: 5 s), so a request
    # is never sent on a connection the server is closing
    limits = httpx.Limits(max_connections=plan.max_in_flight, keepalive_expiry=1.0)
    try:
        token = os.environ.get("SHIPYARD_CLIENT_TOKEN")
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(timeout=plan.timeout, limits=limits, headers=auth) as client:
            tasks = []
            start = time.perf_counter()
            total = max(1, int(plan.rps * plan.duration))
            for i in range(total):
                delay = start + i / plan.rps - time.perf_counter()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    break
                await slots.acquire()
                first = (i * plan.rows) % len(records)
                picked = [(first + j) % len(records) for j in range(plan.rows)]
                tasks.append(
                    asyncio.create_task(_one(client, url, plan, records, labels, picked, slots, result))
                )
            await asyncio.gather(*tasks)
            result.seconds = time.perf_counter() - start
    finally:
        for sig in handled:
            asyncio.get_running_loop().remove_signal_handler(sig)
    return result


async def _one(
    client: httpx.AsyncClient,
    url: str,
    plan: ReplayPlan,
    records: list[dict[str, Any]],
    labels: list[Any] | None,
    picked: list[int],
    slots: asyncio.Semaphore,
    result: ReplayResult,
) -> None:
    import httpx

    headers = {"X-Request-Key": uuid.uuid4().hex}
    result.sent += 1
    began = time.perf_counter()
    try:
        response = await client.post(
            f"{url}/predict", json={"records": [records[i] for i in picked]}, headers=headers
        )
        result.latencies_ms.append((time.perf_counter() - began) * 1000)
        if response.is_success:
            result.ok += 1
            result.versions[response.headers.get("x-model-version", "?")] += 1
        else:
            result.failed += 1
            result.errors[f"HTTP {response.status_code}"] += 1
            return
        if plan.feedback and labels is not None:
            request_id = response.headers.get("x-request-id", "")  # issued by the server
            body = [
                {"request_id": request_id, "row": j, "label": str(labels[i])} for j, i in enumerate(picked)
            ]
            answer = await client.post(f"{url}/feedback", json=body)
            result.feedback += len(body) if answer.is_success else 0
    except httpx.HTTPError as exc:
        result.failed += 1
        result.errors[type(exc).__name__] += 1
    finally:
        slots.release()
