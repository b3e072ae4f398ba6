"""A real `shipyard serve` under attack: exposure, tokens, slow clients, forged labels, and fuzzing.

The fuzzing is bounded (a few hundred requests in all, seeded): hypothesis strategies built
from the project's schema.yaml with hostile-but-plausible values (int64 and float edges,
week dates, nesting, wrong types, missing and extra fields, every body shape, CSV), then
schemathesis against the server's own `/openapi.json`. Every answer must be below 500 and
carry no internals; afterwards every scored request must be in the prediction log.
"""

from __future__ import annotations

import csv
import io
import re
import socket
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml
from cli_helpers import Cli, write_tiny_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_helpers import Server, logged_rows

from shipyard.serving.auth import digest

pytestmark = pytest.mark.integration

PREDICT = "predict-and-feedback-0123456789"
ADMIN = "admin-token-abcdefghijklmnop"
TOKENS = f"sha256:{digest(PREDICT)} predict,feedback; {ADMIN} admin"
AUTH = {"Authorization": f"Bearer {PREDICT}"}
INTERNALS = re.compile(r"Traceback|\b\w+(Error|Exception)\b|/work/|/tmp/|site-packages|\.py\b")

MODEL = """\
import pandas as pd
from sklearn.linear_model import LogisticRegression


def features(df):
    return pd.DataFrame({"x1": df.x1, "x2": df.x2, "g": (df.color == "g").astype(int),
                         "odd": (df.transaction_id % 2).astype(float)})


def train(X, y, params):
    return LogisticRegression(C=params.get("C", 1.0)).fit(X, y)
"""


def attack_project(root: Path) -> Cli:
    """The tiny project plus an unbounded integer id the model reads and a date column; version 1 served."""
    extra = "serving: {header_timeout_s: 1.0, body_timeout_s: 2.0, feedback_labels_per_s: 100000}\n"
    cli = Cli(write_tiny_project(root, model_py=MODEL, extra_yaml=extra))
    rng = np.random.default_rng(1)
    for name in ("data.csv", "sample.csv"):
        frame = pd.read_csv(root / name)
        frame["transaction_id"] = rng.integers(10**9, 10**12, len(frame))
        seconds = pd.to_timedelta(rng.integers(0, 86_400 * 300, len(frame)), unit="s")
        frame["when"] = (pd.Timestamp("2026-01-01") + seconds).strftime("%Y-%m-%dT%H:%M:%S")
        frame.to_csv(root / name, index=False)
    cli("schema", "infer", check=0)
    cli("run", check=0)
    cli("promote", "1", "--to", "production", check=0)
    return cli


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return attack_project(tmp_path_factory.mktemp("attack") / "tiny")


@pytest.fixture(scope="module")
def server(project: Cli) -> Any:
    with Server(project.project, env={"SHIPYARD_TOKENS": TOKENS}) as running:
        yield running


SCORED: list[str] = []  # request ids answered 200, checked against the log at the end


def check(response: httpx.Response, project: Path) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    text = response.text
    assert not INTERNALS.search(text), text[:500]
    assert str(project) not in text
    if response.status_code == 200 and response.headers.get("x-model-version"):
        SCORED.append(response.headers["x-request-id"])


# --- exposure --------------------------------------------------------------------------------


def test_binding_beyond_loopback_without_tokens_exits_2(tiny: Cli) -> None:
    refused = tiny("serve", "--host", "0.0.0.0", "--port", "0")
    assert refused.returncode == 2, refused.stderr
    assert "SHIPYARD_TOKENS" in refused.stderr and "--insecure" in refused.stderr
    insecure = tiny("serve", "--host", "0.0.0.0", "--port", "0", "--insecure")
    assert "INSECURE" in insecure.stderr  # then fails later: this project has no production version
    assert insecure.returncode == 3


def test_bad_tokens_file_is_a_usage_error(tiny: Cli) -> None:
    secret = tiny.project / "tokens"
    secret.write_text("short predict\n")
    proc = tiny("serve", "--port", "0", "--tokens-file", str(secret))
    assert (
        proc.returncode == 2
        and "at least 16" in proc.stderr
        and "short" not in proc.stderr.split("tokens")[-1]
    )


# --- tokens on loopback ----------------------------------------------------------------------


def test_tokens_are_enforced_on_loopback_when_configured(server: Server) -> None:
    row = {"x1": 0.1, "x2": 0.2, "color": "g", "transaction_id": 5, "when": "2026-11-01T10:00:00Z"}
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.post("/predict", json=[row]).status_code == 401
        assert (
            client.post("/predict", json=[row], headers={"Authorization": "Bearer nope"}).status_code == 401
        )
        assert client.get("/metrics", headers=AUTH).status_code == 403
        assert client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 200
        ok = client.post("/predict", json=[row], headers=AUTH)
        assert ok.status_code == 200, ok.text
        public = client.get("/v1/models").json()
        assert public["production"]["version"] == "1" and "prediction_log" not in public


# --- slow and oversized clients ----------------------------------------------------------------


def _closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> float:
    """Seconds until the server closed `sock` while we trickle `trickle` a byte at a time."""
    start = time.monotonic()
    sock.settimeout(0.2)
    sent = 0
    while time.monotonic() - start < seconds:
        try:
            if sent < len(trickle):
                sock.sendall(trickle[sent : sent + 1])
                sent += 1
            data = sock.recv(4096)
            if data == b"" or b"HTTP/1.1" in data:
                return time.monotonic() - start
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
    raise AssertionError(f"the server kept the connection open for {seconds} s")


def test_slow_headers_and_idle_connections_are_closed(server: Server) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    slow_headers = b"POST /predict HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
    with socket.create_connection((host, int(port))) as sock:
        assert _closed_within(sock, 6.0, slow_headers) < 3.0  # header_timeout_s is 1 s
    with socket.create_connection((host, int(port))) as sock:
        assert _closed_within(sock, 6.0) < 3.0  # connected, never sent a byte


def test_slow_body_is_408_and_oversized_headers_431(server: Server) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        head = f"POST /predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {PREDICT}\r\n"
        sock.sendall(head.encode() + b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n[")
        sock.settimeout(10)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 100_000 + b"\r\n\r\n")
        sock.settimeout(10)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 431"), answer


# --- forged labels -----------------------------------------------------------------------------


def test_labels_only_for_rows_the_server_scored(server: Server, project: Cli) -> None:
    row = {"x1": 0.1, "x2": 0.2, "color": "g", "transaction_id": 5, "when": "2026-11-01"}
    with httpx.Client(base_url=server.url, timeout=10, headers=AUTH) as client:
        scored = client.post("/predict", json=[row, row], headers={"X-Request-ID": "chosen-by-client"})
        check(scored, project.project)
        issued = scored.json()["request_id"]
        assert issued != "chosen-by-client" and scored.headers["x-correlation-id"] == "chosen-by-client"
        bogus = [{"request_id": f"r{i}", "row": 0, "label": 1} for i in range(50_000)]
        flood = client.post("/feedback", json=bogus)
        assert flood.status_code == 413
        for forged in ("chosen-by-client", "f" * 32, issued[:-1] + ("0" if issued[-1] != "0" else "1")):
            answer = client.post("/feedback", json={"request_id": forged, "label": 1})
            assert answer.status_code == 422 and answer.json()["errors"][0]["rule"] == "unknown_request_id"
        assert client.post("/feedback", json={"request_id": issued, "row": 2, "label": 1}).status_code == 422
        assert client.post("/feedback", json={"request_id": issued, "row": 1, "label": 1}).status_code == 202
        assert client.post("/feedback", json={"request_id": issued, "row": 1, "label": 0}).status_code == 409


# --- fuzzing from schema.yaml ------------------------------------------------------------------

EDGE_INTS = [2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 2**64, 10**30, 0, -1]
EDGE_FLOATS = [1e308, -1e308, 3.5e38, -3.5e38, 5e-324, -0.0, 1e19, 0.5]
BAD_DATES = [
    "2026-W01-1",
    "2026-032",
    "20261101",
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
    "2026-11-01T25:61",
]
NESTED = [[[[1]]], {"a": {"b": [1]}}, [], {}]


def _good(column: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the schema accepts."""
    dtype = column["dtype"]
    if dtype == "int":
        return st.integers(column.get("minimum", 0), column.get("maximum", 10**12))
    if dtype == "float":
        return st.floats(column.get("minimum", -1e6), column.get("maximum", 1e6))
    if dtype == "datetime":
        return st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)).map(
            lambda d: d.isoformat()
        )
    return st.sampled_from(column.get("categories") or ["g"])


def _hostile(column: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Plausible-looking values the model cannot take, or the wrong kind of value."""
    noise = st.one_of(st.none(), st.booleans(), st.text(max_size=8), st.sampled_from(NESTED))
    if column["dtype"] in ("int", "float"):
        return st.one_of(
            st.integers(-(2**66), 2**66), st.floats(allow_nan=False, allow_infinity=False),
            st.sampled_from(EDGE_INTS + EDGE_FLOATS), noise,
        )  # fmt: skip
    if column["dtype"] == "datetime":
        return st.one_of(st.sampled_from(BAD_DATES), st.datetimes().map(lambda d: d.isoformat()), noise)
    return st.one_of(st.integers(), noise)


def _records(columns: list[dict[str, Any]]) -> st.SearchStrategy[list[dict[str, Any]]]:
    good = {c["name"]: _good(c) for c in columns}
    hostile = {c["name"]: _hostile(c) for c in columns}

    @st.composite
    def record(draw: st.DrawFn) -> dict[str, Any]:
        row = {name: draw(strategy) for name, strategy in good.items()}
        for name in draw(st.lists(st.sampled_from(sorted(row)), max_size=2)):
            row[name] = draw(hostile[name])
        if draw(st.integers(0, 9)) == 0:
            row.pop(draw(st.sampled_from(sorted(row))))
        if draw(st.integers(0, 9)) == 0:
            row["extra"] = 1
        return row

    return st.lists(record(), min_size=0, max_size=4)


def _request(records: list[dict[str, Any]], shape: str) -> tuple[str, dict[str, Any]]:
    names = list(dict.fromkeys(k for r in records for k in r))
    columns = {k: [r.get(k) for r in records] for k in names}
    if shape == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=names)
        writer.writeheader()
        writer.writerows(records)
        return "/invocations", {"content": out.getvalue().encode(), "headers": {"content-type": "text/csv"}}
    body: Any = {
        "records": records,
        "predict_columns": {"columns": columns},
        "dataframe_split": {
            "dataframe_split": {"columns": names, "data": [[r.get(k) for k in names] for r in records]}
        },
        "dataframe_records": {"dataframe_records": records},
        "instances": {"instances": records},
        "instances_columns": {"instances": columns},
        "inputs": {"inputs": columns},
    }[shape]
    path = "/predict" if shape in ("records", "predict_columns") else "/invocations"
    return path, {"json": body}


SHAPES = ["records", "predict_columns", "dataframe_split", "dataframe_records", "instances",
          "instances_columns", "inputs", "csv"]  # fmt: skip


def test_hypothesis_fuzz_from_the_schema_gets_no_5xx_and_no_internals(server: Server, project: Cli) -> None:
    schema = yaml.safe_load((project.project / "schema.yaml").read_text())
    columns = [c for c in schema["columns"] if c["name"] != schema["target"]]
    statuses: dict[int, int] = {}

    with httpx.Client(base_url=server.url, timeout=30, headers=AUTH) as client:

        @settings(max_examples=250, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(records=_records(columns), shape=st.sampled_from(SHAPES))
        def one(records: list[dict[str, Any]], shape: str) -> None:
            path, kwargs = _request(records, shape)
            response = client.post(path, **kwargs)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            check(response, project.project)

        one()
    assert statuses.get(200, 0) >= 10 and statuses.get(422, 0) + statuses.get(400, 0) >= 50, statuses


def test_schemathesis_against_the_servers_openapi_gets_no_5xx_and_no_internals(
    server: Server, project: Cli
) -> None:
    import schemathesis
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=40, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy())
        def one(case: Any) -> None:
            nonlocal calls
            calls += 1
            response = case.call(headers=AUTH, timeout=30)
            case.validate_response(response, checks=(not_a_server_error,))
            assert not INTERNALS.search(response.text), response.text[:500]
            assert str(project.project) not in response.text

        one()
    assert calls >= 100


def test_every_scored_request_is_in_the_log_after_a_graceful_stop(server: Server, project: Cli) -> None:
    assert len(SCORED) >= 10
    code, err = server.stop()
    assert code == 0, err
    logged = {r["request_id"] for r in logged_rows(project.project)}
    assert set(SCORED) <= logged
