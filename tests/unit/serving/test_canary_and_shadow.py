"""Sticky canary routing and shadow scoring off the response path."""

from __future__ import annotations

import math
from pathlib import Path

import httpx
import pyarrow.dataset as ds
import pytest
from serving_fixtures import broken_features, fitted, make_state, model_set, record, run_app

from shipyard.serving import predlog
from shipyard.serving.models import LoadedModel
from shipyard.serving.routing import bucket, route_for


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("weight", [0.05, 0.3, 0.5])
def test_canary_share_matches_weight(seed: int, weight: float) -> None:
    n = 20_000
    share = sum(route_for(f"{seed}-customer-{i}", weight) == "canary" for i in range(n)) / n
    assert abs(share - weight) < 5 * math.sqrt(weight * (1 - weight) / n)


def test_same_key_same_route_and_raising_weight_only_moves_keys_to_canary() -> None:
    keys = [f"k{i}" for i in range(2000)]
    low = {k: route_for(k, 0.1) for k in keys}
    assert low == {k: route_for(k, 0.1) for k in keys}
    high = {k: route_for(k, 0.4) for k in keys}
    assert all(high[k] == "canary" for k in keys if low[k] == "canary")
    assert all(0.0 <= bucket(k) < 1.0 for k in keys)


def test_weights_zero_and_one_route_everything() -> None:
    assert route_for(None, 0.0) == "production"
    assert route_for(None, 1.0) == "canary"


def test_server_routes_each_key_stickily_to_one_version(tmp_path: Path) -> None:
    canary = LoadedModel("2", fitted(2))
    state = make_state(tmp_path, model_set(canary=canary, canary_weight=0.5))

    async def scenario(client: httpx.AsyncClient) -> dict[str, set[str]]:
        seen: dict[str, set[str]] = {}
        for i in range(40):
            key = f"user-{i % 10}"
            by_field = await client.post("/predict", json={"key": key, "records": [record(i)]})
            by_header = await client.post("/predict", json=[record(i)], headers={"X-Request-Key": key})
            for response in (by_field, by_header):
                assert response.status_code == 200
                seen.setdefault(key, set()).add(response.json()["model_version"])
        return seen

    seen = run_app(state, scenario)
    assert all(len(versions) == 1 for versions in seen.values())
    expected = {f"user-{i}": {"2" if route_for(f"user-{i}", 0.5) == "canary" else "1"} for i in range(10)}
    assert seen == expected


def test_shadow_is_logged_never_returned(tmp_path: Path) -> None:
    state = make_state(tmp_path, model_set(shadow=LoadedModel("3", fitted(3))))

    async def scenario(client: httpx.AsyncClient) -> list[str]:
        ids = []
        for i in range(5):
            response = await client.post("/predict", json=[record(i), record(i + 1)])
            assert response.json()["model_version"] == "1" and response.json()["route"] == "production"
            ids.append(response.json()["request_id"])
        return ids

    ids = run_app(state, scenario)
    rows = ds.dataset(tmp_path / predlog.PREDICTIONS_DIR, partitioning="hive").to_table().to_pylist()
    for route, version in (("production", "1"), ("shadow", "3")):
        logged = {(r[predlog.REQUEST_ID], r[predlog.ROW]) for r in rows if r[predlog.ROUTE] == route}
        assert logged == {(i, row) for i in ids for row in (0, 1)}
        assert {r[predlog.MODEL_VERSION] for r in rows if r[predlog.ROUTE] == route} == {version}


def test_shadow_failure_never_reaches_the_client(tmp_path: Path) -> None:
    broken = LoadedModel("3", fitted(3, feature_fn=broken_features))
    state = make_state(tmp_path, model_set(shadow=broken))

    async def scenario(client: httpx.AsyncClient) -> list[int]:
        codes = [(await client.post("/predict", json=[record(i)])).status_code for i in range(4)]
        return codes

    assert run_app(state, scenario) == [200] * 4
    assert (
        state.metrics.registry.get_sample_value("shipyard_shadow_errors_total", {"model_version": "3"}) == 4
    )
    rows = ds.dataset(tmp_path / predlog.PREDICTIONS_DIR, partitioning="hive").to_table().to_pylist()
    shadow = [r for r in rows if r[predlog.ROUTE] == "shadow"]
    assert len(shadow) == 4 and {r[predlog.STATUS] for r in shadow} == {"error"}
    assert all(r[predlog.SCORE] is None for r in shadow)
