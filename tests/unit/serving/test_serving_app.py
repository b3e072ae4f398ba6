"""The ASGI app in process: every request shape, every bad input, health, models, metrics, feedback."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from serving_fixtures import broken_features, features, fitted, make_state, model_set, record, run_app

from shipyard.serving import predlog
from shipyard.serving.app import ServerState
from shipyard.serving.models import LoadedModel


def post(state: ServerState, path: str, **kwargs: Any) -> httpx.Response:
    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(path, **kwargs)

    return run_app(state, scenario)


def test_predict_records_returns_version_request_id_and_probabilities(state: ServerState) -> None:
    response = post(state, "/predict", json=[record(1), record(2)], headers={"X-Request-ID": "abc"})
    assert response.status_code == 200
    body = response.json()
    assert body["request_id"] == response.headers["x-request-id"] != "abc"  # the server issues ids
    assert response.headers["x-correlation-id"] == "abc"
    assert body["model_version"] == "1" == response.headers["x-model-version"]
    assert body["route"] == "production"
    assert len(body["predictions"]) == len(body["scores"]) == 2
    p0, p1 = body["probabilities"]["0"], body["probabilities"]["1"]
    assert all(abs(a + b - 1) < 1e-9 for a, b in zip(p0, p1, strict=True))
    assert body["scores"] == p1


def test_predict_columnar_equals_records(state: ServerState, tmp_path: Path) -> None:
    rows = [record(i) for i in range(5)]
    columnar = {"columns": {k: [r[k] for r in rows] for k in rows[0]}}
    by_records = post(state, "/predict", json={"records": rows}).json()
    other = make_state(tmp_path / "other", model_set())
    by_columns = post(other, "/predict", json=columnar).json()
    assert by_records["scores"] == by_columns["scores"]


def test_generated_request_id_is_echoed(state: ServerState) -> None:
    response = post(state, "/predict", json=[record()])
    assert state.request_ids.rows_of(response.headers["x-request-id"], retention_s=60) == 1
    assert response.json()["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize(
    "payload",
    [
        {"dataframe_split": {"columns": list(record()), "data": [list(record().values())]}},
        {"dataframe_records": [record()]},
        {"instances": [record()]},
        {"inputs": {k: [v] for k, v in record().items()}},
    ],
    ids=["dataframe_split", "dataframe_records", "instances", "inputs"],
)
def test_invocations_accepts_mlflow_payloads_and_answers_like_mlflow(
    state: ServerState, payload: dict
) -> None:
    response = post(state, "/invocations", json=payload)
    assert response.status_code == 200, response.text
    (row,) = response.json()["predictions"]
    assert set(row) == {"prediction", "proba_0", "proba_1"}
    assert response.headers["x-model-version"] == "1"


def test_invocations_accepts_csv(state: ServerState) -> None:
    csv = "x1,x2,n,color,when\n0.5,,3,g,2026-11-01T10:00:00\n"
    response = post(state, "/invocations", content=csv, headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == 1


def test_malformed_json_is_400(state: ServerState) -> None:
    response = post(state, "/predict", content=b'{"records": [', headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "Malformed JSON" in response.json()["detail"]


def test_every_problem_is_listed_with_field_value_and_rule(state: ServerState) -> None:
    bad = {**record(), "x1": "high", "n": 500, "color": "blue", "when": "yesterday", "extra": 1}
    del bad["x2"]
    response = post(state, "/predict", json=[bad])
    assert response.status_code == 422
    problems = {(p["field"], p["rule"]): p for p in response.json()["errors"]}
    assert set(problems) == {
        ("x1", "wrong_dtype"),
        ("n", "above_maximum"),
        ("color", "unseen_category"),
        ("when", "wrong_dtype"),
        ("extra", "unexpected_column"),
        ("x2", "missing_column"),
    }
    assert problems[("x1", "wrong_dtype")]["value"] == "high"
    assert problems[("n", "above_maximum")]["value"] == 500
    assert problems[("color", "unseen_category")]["rows"] == [0]


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"x1": None}, "null_values"),
        ({"x1": True}, "wrong_dtype"),
        ({"n": 2.5}, "wrong_dtype"),
        ({"n": -1}, "below_minimum"),
        ({"color": 3}, "wrong_dtype"),
    ],
)
def test_single_rule_violations(state: ServerState, change: dict, rule: str) -> None:
    response = post(state, "/predict", json=[{**record(), **change}])
    assert response.status_code == 422
    assert [p["rule"] for p in response.json()["errors"]] == [rule]


def test_nullable_field_may_be_null_and_whole_floats_pass_as_int(state: ServerState) -> None:
    response = post(state, "/predict", json=[{**record(), "x2": None, "n": 4.0}])
    assert response.status_code == 200, response.text


def test_field_missing_from_one_record_is_reported_with_its_row(state: ServerState) -> None:
    partial = record(1)
    del partial["n"]
    response = post(state, "/predict", json=[record(0), partial])
    assert response.status_code == 422
    (problem,) = response.json()["errors"]
    assert (problem["field"], problem["rule"], problem["rows"]) == ("n", "missing_column", [1])


@pytest.mark.parametrize(
    "payload",
    [[], {"nothing": 1}, [1, 2], {"columns": {"x1": [1.0], "x2": [1.0, 2.0]}}, "text"],
    ids=["empty", "no-known-key", "not-records", "ragged-columns", "scalar"],
)
def test_bad_shapes_are_422(state: ServerState, payload: Any) -> None:
    response = post(state, "/predict", json=payload)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_oversized_payload_is_413_by_header_and_by_rows(tmp_path: Path) -> None:
    small = make_state(tmp_path, model_set(), max_payload_bytes=2048, max_request_rows=3)
    too_big = post(small, "/predict", json=[record(i) for i in range(40)])
    assert too_big.status_code == 413
    assert "max_payload_bytes" in too_big.json()["detail"]
    again = make_state(tmp_path / "rows", model_set(), max_payload_bytes=2048, max_request_rows=3)
    too_many = post(again, "/predict", json=[record(i) for i in range(5)])
    assert too_many.status_code == 413
    assert "max_request_rows" in too_many.json()["detail"]


def test_oversized_chunked_body_is_413(tmp_path: Path) -> None:
    small = make_state(tmp_path, model_set(), max_payload_bytes=2048)

    async def chunks() -> Any:
        for _ in range(10):
            yield b" " * 1000

    assert post(small, "/predict", content=chunks()).status_code == 413


def test_model_failure_is_500_and_the_next_request_still_works(tmp_path: Path) -> None:
    broken = make_state(tmp_path, model_set(canary=LoadedModel("2", fitted(2, feature_fn=broken_features)),
                                            canary_weight=1.0))  # fmt: skip

    async def scenario(client: httpx.AsyncClient) -> list[int]:
        first = await client.post("/predict", json=[record()])
        second = await client.get("/healthz")
        return [first.status_code, second.status_code]

    assert run_app(broken, scenario) == [500, 200]


def test_health_readiness_models_and_metrics(state: ServerState) -> None:
    async def scenario(client: httpx.AsyncClient) -> dict[str, Any]:
        await client.post("/predict", json=[record(i) for i in range(3)])
        await client.post("/predict", content=b"{")
        return {
            "health": (await client.get("/healthz")).status_code,
            "ready": (await client.get("/readyz")).status_code,
            "models": (await client.get("/v1/models")).json(),
            "metrics": (await client.get("/metrics")).text,
        }

    seen = run_app(state, scenario)
    assert seen["health"] == seen["ready"] == 200
    assert seen["models"]["production"]["version"] == "1"
    assert seen["models"]["traffic"] == {"production": 1.0, "canary": 0.0}
    assert seen["models"]["last_error"] is None
    text = seen["metrics"]
    for line in (
        'shipyard_requests_total{model_version="1",route="production",status="ok"} 1.0',
        'shipyard_invalid_requests_total{code="400"} 1.0',
        'shipyard_batch_rows_count{model_version="1",route="production"} 1.0',
        'shipyard_prediction_score_count{model_version="1",route="production"} 3.0',
        'shipyard_served_model{model_version="1",route="production"} 1.0',
    ):
        assert line in text
    assert 'shipyard_mean_confidence{model_version="1",route="production"}' in text
    assert "shipyard_request_latency_seconds_bucket" in text


def test_predictions_and_feedback_are_logged_with_the_contract_columns(
    state: ServerState, tmp_path: Path
) -> None:
    async def scenario(client: httpx.AsyncClient) -> str:
        response = await client.post("/predict", json=[record(1), record(2)])
        request_id = response.json()["request_id"]
        accepted = await client.post("/feedback", json=[{"request_id": request_id, "row": 1, "label": 1}])
        assert accepted.status_code == 202
        refused = await client.post("/feedback", json={"label": 1})
        assert refused.status_code == 422
        return request_id

    request_id = run_app(state, scenario)
    table = ds.dataset(tmp_path / predlog.PREDICTIONS_DIR, partitioning="hive").to_table()
    rows = sorted(table.to_pylist(), key=lambda r: r[predlog.ROW])
    assert [r[predlog.REQUEST_ID] for r in rows] == [request_id] * 2
    assert [r[predlog.ROW] for r in rows] == [0, 1]
    assert {(r[predlog.ROUTE], r[predlog.STATUS], r[predlog.MODEL_VERSION]) for r in rows} == {
        ("production", "ok", "1")
    }
    assert {"proba_0", "proba_1", "input.x1", "input.color", "input.when", "latency_ms", "score"} <= set(
        rows[0]
    )
    assert table.schema.field(predlog.TS).type == pa.timestamp("us", tz="UTC")
    assert table.schema.field(predlog.ROW).type == pa.int32()
    feedback = ds.dataset(tmp_path / predlog.FEEDBACK_DIR, partitioning="hive").to_table().to_pylist()
    assert [(f[predlog.REQUEST_ID], f[predlog.ROW], f[predlog.LABEL]) for f in feedback] == [
        (request_id, 1, "1")
    ]


def test_concurrent_requests_are_coalesced_and_split_back(state: ServerState) -> None:
    async def scenario(client: httpx.AsyncClient) -> list[httpx.Response]:
        return await asyncio.gather(
            *[client.post("/predict", json=[record(i)] * (i % 3 + 1)) for i in range(30)]
        )

    responses = run_app(state, scenario)
    assert all(r.status_code == 200 for r in responses)
    assert [len(r.json()["predictions"]) for r in responses] == [i % 3 + 1 for i in range(30)]
    assert state.batcher.batches < 30


def test_range_checks_can_be_turned_off(tmp_path: Path) -> None:
    relaxed = make_state(tmp_path, model_set())
    relaxed.validator.check_ranges = False
    assert post(relaxed, "/predict", json=[{**record(), "n": 500}]).status_code == 200


def test_regression_models_return_values_as_scores(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    from shipyard.serving.models import ModelSet
    from shipyard.training.packaging import Servable

    frame = features(pd.DataFrame([record(i) for i in range(20)]))
    regressor = LinearRegression().fit(frame, frame.x1 * 2)
    servable = Servable(estimator=regressor, features=features, task="regression", target="label")
    state = make_state(tmp_path, ModelSet(model="tiny", production=LoadedModel("7", servable)))
    body = post(state, "/predict", json=[record(3)]).json()
    assert body["predictions"] == body["scores"] and "probabilities" not in body
    assert abs(body["scores"][0] - 0.6) < 1e-6
    rows = ds.dataset(tmp_path / predlog.PREDICTIONS_DIR, partitioning="hive").to_table().to_pylist()
    assert float(rows[0][predlog.PREDICTION]) == rows[0][predlog.SCORE]
