"""Every request gets the right status: dtype limits, strict dates, nesting, empty CSV, no internals."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from serving_fixtures import SCHEMA, broken_features, fitted, model_set, record, run_app

from shipyard.config.policy import ServingConfig
from shipyard.data.schema import ColumnSchema
from shipyard.serving.app import ServerState
from shipyard.serving.follow import DesiredSource
from shipyard.serving.models import LoadedModel, ModelHolder, ModelSet
from shipyard.serving.validation import RequestValidator
from shipyard.workspace.desired import DesiredLog
from shipyard.workspace.logs import LogLocation

# The fixtures' schema plus an integer column without bounds (the model ignores it).
UNBOUNDED = dataclasses.replace(SCHEMA, columns=(*SCHEMA.columns, ColumnSchema("transaction_id", "int")))
INTERNALS = ("Traceback", "Error:", "Exception", "/tmp", "/work/", "site-packages", ".py")


def make(tmp_path: Path, models: ModelSet | None = None, *, check_ranges: bool = True) -> ServerState:
    validator = RequestValidator(UNBOUNDED, allow=frozenset({"key"}), check_ranges=check_ranges)
    return ServerState(
        ServingConfig(), ModelHolder.fixed(models or model_set()), validator, LogLocation(tmp_path)
    )


def row(**change: Any) -> dict[str, Any]:
    return {**record(1), "transaction_id": 7, **change}


def send(state: ServerState, requests: list[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
    async def scenario(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [await client.request(method, path, **kwargs) for method, path, kwargs in requests]

    return run_app(state, scenario)


def assert_no_internals(response: httpx.Response) -> None:
    assert response.status_code < 500 or response.status_code == 500 and "request_id" in response.text
    for marker in INTERNALS:
        assert marker not in response.text, (marker, response.text)


@pytest.mark.parametrize("check_ranges", [True, False])
@pytest.mark.parametrize("value", [2**63, -1e19, 2**64 - 1, 1e308, -1e308, 1e19, 2.5], ids=lambda v: f"{v!r}")
def test_integers_the_model_cannot_hold_are_422_naming_the_field(
    tmp_path: Path, value: Any, check_ranges: bool
) -> None:
    (response,) = send(
        make(tmp_path, check_ranges=check_ranges),
        [("POST", "/predict", {"json": [row(transaction_id=value)]})],
    )
    assert response.status_code == 422, response.text
    assert {p["field"] for p in response.json()["errors"]} == {"transaction_id"}


def test_int64_extremes_and_float32_limits_are_scored_or_refused_never_500(tmp_path: Path) -> None:
    requests = [
        ("POST", "/predict", {"json": [row(transaction_id=2**63 - 1)]}),
        ("POST", "/predict", {"json": [row(transaction_id=-(2**63))]}),
        ("POST", "/predict", {"json": [row(x2=3.5e38)]}),
        ("POST", "/predict", {"json": [row(x2=1e308)]}),
    ]
    statuses = [r.status_code for r in send(make(tmp_path), requests)]
    assert statuses == [200, 200, 422, 422]


@pytest.mark.parametrize(
    "when", ["2026-W01-1", "2026-032", "20261101", "2026-02-30", "9999-12-31", "0001-01-01", "tomorrow"]
)
def test_dates_outside_the_strict_parser_are_422(tmp_path: Path, when: str) -> None:
    (response,) = send(make(tmp_path), [("POST", "/predict", {"json": [row(when=when)]})])
    assert response.status_code == 422, response.text
    assert [p["field"] for p in response.json()["errors"]] == ["when"]


@pytest.mark.parametrize("when", ["2026-11-01", "2026-11-01T10:00:00Z", "2026-11-01 10:00:00.5+02:00"])
def test_calendar_dates_are_scored(tmp_path: Path, when: str) -> None:
    (response,) = send(make(tmp_path), [("POST", "/predict", {"json": [row(when=when)]})])
    assert response.status_code == 200, response.text


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    "body",
    [
        nested(1000),
        nested(5000),
        b'[{"x1": ' + nested(1000) + b"}]",
        b'{"instances": ' * 900 + b"[]" + b"}" * 900,
        b'{"inputs": {"x1": [' + nested(900) + b"]}}",
        b'{"key": ' + nested(900) + b', "records": []}',
        b'{"dataframe_split": {"columns": [' + nested(900) + b'], "data": []}}',
    ],
    ids=["list-1000", "list-5000", "value", "instances", "inputs", "key", "split-columns"],
)
def test_deep_nesting_is_4xx_without_internals(tmp_path: Path, body: bytes) -> None:
    for path in ("/predict", "/invocations"):
        (response,) = send(
            make(tmp_path / path[1:]),
            [("POST", path, {"content": body, "headers": {"content-type": "application/json"}})],
        )
        assert 400 <= response.status_code < 500, response.text
        assert_no_internals(response)
        assert len(response.content) < 4096


def test_csv_with_a_header_and_no_rows_is_refused(tmp_path: Path) -> None:
    csv = {"content": b"x1,x2,n,color,when,transaction_id\n", "headers": {"content-type": "text/csv"}}
    (response,) = send(make(tmp_path), [("POST", "/invocations", csv)])
    assert response.status_code == 400
    assert response.json()["error_code"] == "BAD_REQUEST"
    assert "no rows" in response.json()["message"]


@pytest.mark.parametrize("csv", [b"x1\n\xff\xfe\n", b"x1,x2\ninf,1\n", b"a,b\n" + b"1," * 10_000 + b"\n"])
def test_hostile_csv_is_4xx(tmp_path: Path, csv: bytes) -> None:
    (response,) = send(
        make(tmp_path), [("POST", "/invocations", {"content": csv, "headers": {"content-type": "text/csv"}})]
    )
    assert 400 <= response.status_code < 500, response.text
    assert_no_internals(response)


def test_a_model_failure_shows_no_exception_to_the_client(tmp_path: Path) -> None:
    broken = ModelSet(model="tiny", production=LoadedModel("1", fitted(2, feature_fn=broken_features)))
    requests = [
        ("POST", "/predict", {"json": [row()]}),
        ("POST", "/invocations", {"json": {"instances": [row()]}}),
    ]
    predict, invocations = send(make(tmp_path, broken), requests)
    assert predict.status_code == 500 and invocations.status_code == 400  # MLflow: a model exception is 400
    assert invocations.json()["error_code"] == "BAD_REQUEST"
    for response in (predict, invocations):
        assert_no_internals(response)
        assert "RuntimeError" not in response.text and "broken" not in response.text
        assert response.json()["request_id"] == response.headers["x-request-id"]


def test_models_endpoint_shows_no_paths(tmp_path: Path) -> None:
    state = make(tmp_path)
    log = DesiredLog(f"sqlite:///{tmp_path / 'state.db'}", "m", "production")
    state.desired = DesiredSource(tmp_path / "deploy" / "production.yaml", log, "tester")
    (response,) = send(state, [("GET", "/v1/models", {})])
    text = response.text
    assert response.status_code == 200 and str(tmp_path) not in text and "/" not in text.replace("\\/", "")
    assert response.json()["desired_file"] == "production.yaml"
    assert response.json()["desired_environment"] == "production"


def test_long_and_odd_values_are_cut_in_error_bodies(tmp_path: Path) -> None:
    (response,) = send(
        make(tmp_path), [("POST", "/predict", {"json": [row(color="z" * 100_000, x1={"a": 1})]})]
    )
    assert response.status_code == 422
    problems = {p["field"]: p for p in response.json()["errors"]}
    assert problems["x1"]["value"] == "<dict>"
    assert len(problems["color"]["value"]) < 100
    assert len(response.content) < 4096


def test_the_routing_key_must_be_a_scalar(tmp_path: Path) -> None:
    body = orjson.dumps({"key": {"a": [1]}, "records": [row()]})
    (response,) = send(make(tmp_path), [("POST", "/predict", {"content": body})])
    assert response.status_code == 422 and "routing key" in response.json()["detail"]


def test_many_unknown_fields_give_a_bounded_error_body(tmp_path: Path) -> None:
    body = row(**{f"{'f' * 200}{i}": i for i in range(5_000)})
    (response,) = send(make(tmp_path), [("POST", "/predict", {"json": [body]})])
    assert response.status_code == 422
    assert (
        len(response.json()["errors"]) == 50 and "5000 problem(s) (the first 50" in response.json()["detail"]
    )
    assert len(response.content) < 30_000
