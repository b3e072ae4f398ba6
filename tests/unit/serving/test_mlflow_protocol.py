"""`/invocations` answers like `mlflow models serve` (MLflow 3.17's scoring_server): bodies, statuses, routes.

The expected codes are those of `mlflow/pyfunc/scoring_server/__init__.py`: 415 for a content
type other than JSON/CSV/Parquet, a charset other than UTF-8 or extra parameters; 400 with
`{"error_code": "BAD_REQUEST", "message"}` for input it cannot use; `/ping` and `/health` 200
with a newline; `/version` the MLflow version. Parquet bodies are the one documented difference
(415 here).
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import httpx
import pytest
from serving_fixtures import record, run_app

from shipyard.serving.app import ServerState


def send(state: ServerState, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        return await client.request(method, path, **kwargs)

    return run_app(state, scenario)


# The payloads of MLflow's documentation ("Deploy MLflow models: JSON input"), one row each.
COLUMNS = list(record())
MLFLOW_PAYLOADS = {
    "dataframe_split": {"dataframe_split": {"columns": COLUMNS, "data": [list(record().values())]}},
    "dataframe_split_index": {
        "dataframe_split": {"index": [0], "columns": COLUMNS, "data": [list(record().values())]}
    },
    "dataframe_records": {"dataframe_records": [record()]},
    "instances_records": {"instances": [record()]},
    "instances_columns": {"instances": {k: [v] for k, v in record().items()}},
    "inputs_columns": {"inputs": {k: [v] for k, v in record().items()}},
    "inputs_records": {"inputs": [record()]},
}


@pytest.mark.parametrize("name", list(MLFLOW_PAYLOADS))
def test_mlflow_client_payloads_are_scored(state: ServerState, name: str) -> None:
    response = send(state, "POST", "/invocations", json=MLFLOW_PAYLOADS[name])
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == 1


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/xml", "application/json; charset=latin-1",
     "application/json; format=pandas-split", "application/x-www-form-urlencoded",
     "application/vnd.apache.parquet"],
)  # fmt: skip
def test_unsupported_content_types_are_415(state: ServerState, content_type: str | None) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    body = b'{"dataframe_records": [{"x1": 1}]}'
    response = send(state, "POST", "/invocations", content=body, headers=headers)
    assert response.status_code == 415, response.text
    assert response.json()["error_code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (
            {"dataframe_split": {"index": [0, 1], "columns": COLUMNS, "data": [list(record().values())] * 3}},
            "index",
        ),
        ({"dataframe_records": [{**record(), "x1": "high"}]}, "validation"),
        ({"dataframe_records": [{**record(), "n": 500}]}, "validation"),
        ({"nothing": []}, "none of"),
    ],
    ids=["split-index-mismatch", "wrong-type", "out-of-range", "no-format-key"],
)
def test_bad_input_is_400_with_mlflow_error_body(state: ServerState, payload: Any, fragment: str) -> None:
    response = send(state, "POST", "/invocations", json=payload)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error_code"] == "BAD_REQUEST"
    assert fragment in body["message"]
    assert "detail" not in body


def test_malformed_json_is_400_bad_request(state: ServerState) -> None:
    response = send(state, "POST", "/invocations", content=b"{", headers={"content-type": "application/json"})
    assert (response.status_code, response.json()["error_code"]) == (400, "BAD_REQUEST")


def test_ping_health_and_version(state: ServerState) -> None:
    async def scenario(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [await client.get(path) for path in ("/ping", "/health", "/version")]

    ping, health, mlflow_version = run_app(state, scenario)
    assert (ping.status_code, ping.text) == (200, "\n") == (health.status_code, health.text)
    assert mlflow_version.status_code == 200 and mlflow_version.text == version("mlflow")


def test_openapi_describes_both_scoring_routes_from_the_schema(state: ServerState) -> None:
    document = send(state, "GET", "/openapi.json").json()
    assert {"/predict", "/invocations", "/feedback", "/ping", "/health", "/version"} <= set(document["paths"])
    record_schema = document["components"]["schemas"]["Record"]
    assert record_schema["required"] == ["x1", "x2", "n", "color", "when"]
    props = record_schema["properties"]
    assert props["n"] == {"type": "integer", "minimum": 0, "maximum": 100}
    assert props["color"] == {"enum": ["g", "r"]}
    assert props["x2"]["anyOf"][1] == {"type": "null"}
    invocations = document["paths"]["/invocations"]["post"]["requestBody"]["content"]
    assert set(invocations) == {"application/json", "text/csv"}
