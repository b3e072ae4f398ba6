"""The prediction log of a real `shipyard serve` process: fuzzed and type-confusing requests under
concurrency with an erroring canary, SIGKILL under load, and a slow canary beside production.

One project holds version 1 (production) and version 2 (the candidate). Both run the same model
code; the server's environment makes the candidate fail on a poison value or sleep per call.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pandas as pd
import pyarrow.dataset as ds
import pytest
from cli_helpers import Cli, write_tiny_project
from serve_helpers import Server, log_folder

from shipyard.serving import predlog
from shipyard.serving.counters import read_counters
from shipyard.serving.routing import route_for

pytestmark = pytest.mark.integration

MODEL = """\
import os
import time

import pandas as pd
from sklearn.linear_model import LogisticRegression


class Faulty:
    \"\"\"A fitted model that sleeps TINY_DELAY_<tag> s per call and fails on x1 == TINY_POISON_<tag>.\"\"\"

    def __init__(self, model, tag):
        self.model = model
        self.tag = tag
        self.classes_ = model.classes_

    def _fault(self, X):
        time.sleep(float(os.environ.get(f"TINY_DELAY_{self.tag}", "0")))
        poison = os.environ.get(f"TINY_POISON_{self.tag}")
        if poison is not None and (X["x1"] == float(poison)).any():
            raise RuntimeError("poisoned row")

    def predict(self, X):
        self._fault(X)
        return self.model.predict(X)

    def predict_proba(self, X):
        self._fault(X)
        return self.model.predict_proba(X)


def features(df):
    return pd.DataFrame({"x1": df.x1, "x2": df.x2, "g": (df.color == "g").astype(int)})


def train(X, y, params):
    return Faulty(LogisticRegression(C=params["C"]).fit(X, y), params["tag"])
"""
# A long flush interval: whatever a SIGKILL leaves is still in the write-ahead file.
POLICY = """\
evaluation: {latency_samples: 10, warmup: 0}
serving: {log_flush_interval_s: 30}
model_format: {trusted_types: [model.Faulty]}
"""
POISON = 0.4242


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_tiny_project(tmp_path_factory.mktemp("predlog") / "tiny", model_py=MODEL, extra_yaml=POLICY)
    for name in ("data.csv", "sample.csv"):
        frame = pd.read_csv(root / name)
        frame["when"] = [f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00" for i in range(len(frame))]
        frame.to_csv(root / name, index=False)
    cli = Cli(root)
    cli("schema", "infer", check=0)
    assert "dtype: datetime" in (root / "schema.yaml").read_text()
    policy = (root / "shipyard.yaml").read_text()
    for tag in ("p", "c"):
        (root / "shipyard.yaml").write_text(
            policy.replace("params: {C: 1.0}", f"params: {{C: 1.0, tag: {tag}}}")
        )
        cli("run", check=0)
    cli("promote", "1", "--to", "production", check=0)
    return root


@pytest.fixture
def fresh_log(project: Path) -> Iterator[Path]:
    """The prediction log folder, emptied before the test."""
    import shutil

    folder = log_folder(project)
    shutil.rmtree(folder, ignore_errors=True)
    yield folder


def valid(i: int) -> dict[str, Any]:
    return {"x1": (i % 7) / 7 - 0.5, "x2": (i % 5) / 5 - 0.5, "color": "g" if i % 2 else "r",
            "when": "2026-11-01T10:00:00"}  # fmt: skip


def fuzzed(rng: random.Random, i: int) -> bytes:
    """A request body: mostly valid, else one of the type-confusing shapes clients send."""
    rows = [valid(i + k) for k in range(rng.randint(1, 3))]
    kind = rng.choice(["valid"] * 5 + ["poison", "iso_week", "text_number", "null", "huge", "huge_int",
                       "bool", "nested", "missing", "unknown", "ordinal", "empty_text"])  # fmt: skip
    row = rows[-1]
    if kind == "poison":
        row["x1"] = POISON
    elif kind == "iso_week":
        row["when"] = "2026-W01-1"
    elif kind == "ordinal":
        row["when"] = "2026-001"
    elif kind == "text_number":
        row["x2"] = "1.5"
    elif kind == "null":
        row[rng.choice(["x1", "x2", "color", "when"])] = None
    elif kind == "huge":
        row["x2"] = 1e308
    elif kind == "bool":
        row["x1"] = True
    elif kind == "nested":
        row["color"] = {"r": 1}
    elif kind == "missing":
        del row["x2"]
    elif kind == "unknown":
        row["surprise"] = "!"
    elif kind == "empty_text":
        row["when"] = ""
    body = orjson.dumps(rows)
    if kind == "huge_int":
        body = body.replace(b'"x2":', b'"x2":123456789012345678901234567890,"x2_":', 1)
    return body


def logged(folder: Path) -> list[dict[str, Any]]:
    columns = [predlog.REQUEST_ID, predlog.ROW, predlog.ROUTE, predlog.MODEL_VERSION, predlog.STATUS,
               predlog.BATCH_ROWS, predlog.INPUT_RAW]  # fmt: skip
    return ds.dataset(folder, partitioning="hive").to_table(columns=columns).to_pylist()


async def _send(
    url: str, bodies: list[tuple[str, bytes]], concurrency: int
) -> list[tuple[str, httpx.Response]]:
    queue = list(reversed(bodies))
    out: list[tuple[str, httpx.Response]] = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def worker() -> None:
            while queue:
                request_id, body = queue.pop()
                headers = {"content-type": "application/json", "x-request-id": request_id}
                out.append((request_id, await client.post("/predict", content=body, headers=headers)))

        await asyncio.gather(*[worker() for _ in range(concurrency)])
    return out


def test_fuzzed_requests_and_an_erroring_canary_leave_every_answered_row_in_the_log(
    project: Path, fresh_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TINY_POISON_c", str(POISON))
    rng = random.Random(10)
    bodies = [(f"req-{i}", fuzzed(rng, i)) for i in range(400)]
    with Server(project, ("--canary", "2", "--canary-weight", "0.5")) as server:
        responses = asyncio.run(_send(server.url, bodies, 16))
        described = httpx.get(f"{server.url}/v1/models").json()
        code, err = server.stop()
    assert code == 0, err
    assert "Traceback" not in err
    statuses = Counter(r.status_code for _, r in responses)
    assert set(statuses) <= {200, 400, 422, 500} and statuses[200] > 100 and statuses[422] > 100
    assert statuses[500] > 0  # the canary failed on its poison rows
    assert described["prediction_log"]["lost_rows"] == 0

    rows = logged(fresh_log)
    keys = [(r[predlog.REQUEST_ID], r[predlog.ROW], r[predlog.ROUTE]) for r in rows]
    assert len(keys) == len(set(keys))  # nothing logged twice
    by_request: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_request.setdefault(row[predlog.REQUEST_ID], []).append(row)
    answered = Counter()
    # The log holds the id the server issued (the x-request-id it answers), not the client's.
    issued = {request_id: response.headers.get("x-request-id", "") for request_id, response in responses}
    for request_id, response in responses:
        mine = by_request.pop(issued[request_id], [])
        if response.status_code >= 400 and response.status_code < 500:
            assert mine == []  # refused before scoring: not a prediction
            continue
        n = len(orjson.loads(dict(bodies)[request_id]))
        version, route = response.headers["x-model-version"], response.headers["x-route"]
        status = "ok" if response.status_code == 200 else "error"
        assert sorted(r[predlog.ROW] for r in mine) == list(range(n)), request_id
        assert {(r[predlog.MODEL_VERSION], r[predlog.ROUTE], r[predlog.STATUS]) for r in mine} == {
            (version, route, status)
        }
        answered[version, "requests"] += 1
        answered[version, "errors"] += status == "error"
        answered[version, "rows"] += n
    assert by_request == {}  # every logged row belongs to an answered request
    week = {issued[request_id] for request_id, body in bodies if b"2026-W01-1" in body}
    for row in rows:  # an ISO week date is kept as sent, beside a null typed column
        if row[predlog.REQUEST_ID] in week and row[predlog.INPUT_RAW]:
            assert orjson.loads(row[predlog.INPUT_RAW]) == {"when": "2026-W01-1"}

    counters = read_counters(fresh_log)
    assert set(counters) == {"1", "2"}
    for version, counts in counters.items():
        assert counts.requests == answered[version, "requests"]
        assert counts.errors == answered[version, "errors"]
        assert counts.rows_logged == answered[version, "rows"]
        assert (counts.rows_lost, counts.rows_quarantined) == (0, 0)
    assert counters["2"].errors > 0


async def _load_then_kill(server: Server, seconds: float) -> list[httpx.Response]:
    responses: list[httpx.Response] = []
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:

        async def worker(n: int) -> None:
            i = 0
            while True:
                try:
                    responses.append(await client.post("/predict", json=[valid(n * 1000 + i)] * (1 + i % 3)))
                except httpx.TransportError:
                    return
                i += 1

        async def kill() -> None:
            await asyncio.sleep(seconds)
            server.proc.kill()

        await asyncio.gather(kill(), *[worker(n) for n in range(16)])
    return responses


def test_sigkill_under_load_loses_no_answered_row(project: Path, fresh_log: Path) -> None:
    server = Server(project).__enter__()
    try:
        responses = asyncio.run(_load_then_kill(server, 3.0))
    finally:
        server.proc.communicate(timeout=30)
    answered = [r for r in responses if r.status_code == 200]
    assert len(answered) > 10 and all(r.status_code == 200 for r in responses)
    assert not list(fresh_log.glob("date=*/*.parquet"))  # killed before its first flush

    with Server(project) as restarted:
        recovered = httpx.get(f"{restarted.url}/v1/models").json()["prediction_log"]["recovered_rows"]
        code, err = restarted.stop()
    assert code == 0, err
    rows = {(r[predlog.REQUEST_ID], r[predlog.ROW]) for r in logged(fresh_log)}
    expected = {
        (r.json()["request_id"], row) for r in answered for row in range(len(r.json()["predictions"]))
    }
    assert expected <= rows  # the documented bound: 0 answered rows lost
    assert recovered == len(rows) >= len(expected)


def _production_keys(n: int, weight: float) -> tuple[list[str], list[str]]:
    keys = [f"user-{i}" for i in range(20 * n)]
    production = [k for k in keys if route_for(k, weight) == "production"][:n]
    canary = [k for k in keys if route_for(k, weight) == "canary"][:n]
    return production, canary


async def _latencies(url: str, seconds: float) -> list[float]:
    """Production latencies (s) of 2 sequential clients while 2 others keep the canary busy."""
    production, canary = _production_keys(2, 0.5)
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def user(key: str, measure: bool) -> None:
            i = 0
            while time.monotonic() < deadline:
                start = time.perf_counter()
                response = await client.post("/predict", json={"key": key, "records": [valid(i)]})
                assert response.status_code == 200
                if measure:
                    assert response.headers["x-route"] == "production"
                    latencies.append(time.perf_counter() - start)
                i += 1

        await asyncio.gather(*[user(k, True) for k in production], *[user(k, False) for k in canary])
    return latencies


def test_a_slow_canary_does_not_delay_production(
    project: Path, fresh_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    medians = {}
    for delay in ("0", "1.0"):
        monkeypatch.setenv("TINY_DELAY_c", delay)
        with Server(project, ("--canary", "2", "--canary-weight", "0.5")) as server:
            latencies = asyncio.run(_latencies(server.url, 4.0))
            server.stop()
        assert len(latencies) >= 5
        medians[delay] = statistics.median(latencies)
    # One predict thread for both routes queues production behind 1 s canary calls (its median
    # grows by about half a second); each route on its own thread keeps it where it was.
    print(f"production median latency (s), canary delay 0 vs 1 s: {medians}")
    assert medians["1.0"] < 2 * medians["0"], medians
