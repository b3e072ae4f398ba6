"""Bearer tokens and scopes (401 vs 403); labels only for rows the server scored, once, at a bounded rate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from serving_fixtures import make_state, model_set, record, run_app

from shipyard.errors import ConfigError
from shipyard.serving.app import ServerState
from shipyard.serving.auth import TokenStore, digest, is_loopback
from shipyard.serving.feedback import LabelGuard, RequestIds

PREDICT = "predict-token-0123456789"
FEED = "feedback-token-0123456789"
ADMIN = "admin-token-0123456789ab"
TOKENS = TokenStore.parse(f"{PREDICT} predict; sha256:{digest(FEED)} feedback\n{ADMIN} admin  # ops")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def secured(tmp_path: Path, **config: Any) -> ServerState:
    state = make_state(tmp_path, model_set(), **config)
    state.tokens = TOKENS
    return state


def test_token_file_parsing_refuses_bad_entries_and_stores_only_digests() -> None:
    assert all(len(d) == 32 for d, _ in TOKENS.entries)
    for text, fragment in [
        ("short predict", "at least 16"),
        (f"{PREDICT} predict,root", "unknown scope"),
        (f"{PREDICT}", "TOKEN SCOPES"),
        ("sha256:abc predict", "64 hex"),
    ]:
        with pytest.raises(ConfigError, match=fragment):
            TokenStore.parse(text)


def test_loopback_detection() -> None:
    assert [is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "127.1.2.3")] == [True] * 4
    assert [is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.10", "example.org")] == [False] * 4


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("POST", "/predict", {}, 401),
        ("POST", "/predict", bearer("not-a-token-at-all-xx"), 401),
        ("POST", "/predict", {"Authorization": f"Basic {PREDICT}"}, 401),
        ("POST", "/predict", bearer(FEED), 403),
        ("POST", "/predict", bearer(PREDICT), 200),
        ("POST", "/predict", bearer(ADMIN), 200),
        ("POST", "/invocations", {}, 401),
        ("POST", "/feedback", bearer(PREDICT), 403),
        ("GET", "/metrics", bearer(PREDICT), 403),
        ("GET", "/metrics", bearer(ADMIN), 200),
        ("POST", "/v1/reload", bearer(FEED), 403),
        ("GET", "/healthz", {}, 200),
        ("GET", "/ping", {}, 200),
        ("GET", "/openapi.json", {}, 200),
    ],
)
def test_scopes(tmp_path: Path, method: str, path: str, headers: dict[str, str], status: int) -> None:
    kwargs: dict[str, Any] = {"headers": headers}
    if path == "/invocations":
        kwargs["json"] = {"instances": [record()]}
    elif method == "POST":
        kwargs["json"] = [record()] if path == "/predict" else []

    async def scenario(client: httpx.AsyncClient) -> httpx.Response:
        return await client.request(method, path, **kwargs)

    response = run_app(secured(tmp_path), scenario)
    assert response.status_code == status, response.text
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
        body = response.json()
        assert body.get("detail") or body.get("error_code") == "UNAUTHENTICATED"


def test_models_details_need_the_admin_scope(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> list[dict[str, Any]]:
        return [(await client.get("/v1/models", headers=h)).json() for h in ({}, bearer(ADMIN))]

    public, admin = run_app(secured(tmp_path), scenario)
    assert public["production"]["version"] == admin["production"]["version"] == "1"
    assert "swaps" not in public and "prediction_log" not in public
    assert admin["swaps"] == 0 and "prediction_log" in admin


def scored_then_labelled(state: ServerState, labels: list[list[dict[str, Any]]]) -> tuple[str, list[int]]:
    async def scenario(client: httpx.AsyncClient) -> tuple[str, list[int]]:
        response = await client.post(
            "/predict", json=[record(1), record(2)], headers={"X-Request-ID": "mine"}
        )
        issued = response.json()["request_id"]
        statuses = []
        for batch in labels:
            body = [{**item, "request_id": item["request_id"].replace("ISSUED", issued)} for item in batch]
            statuses.append((await client.post("/feedback", json=body)).status_code)
        return issued, statuses

    return run_app(state, scenario)


def test_feedback_only_for_rows_the_server_scored_and_first_label_wins(tmp_path: Path) -> None:
    forged = RequestIds(b"another key" * 3).issue(rows=2)
    _, statuses = scored_then_labelled(
        make_state(tmp_path, model_set()),
        [
            [{"request_id": "mine", "row": 0, "label": 1}],  # the client's own X-Request-ID
            [{"request_id": "0" * 32, "row": 0, "label": 1}],  # a made-up id
            [{"request_id": forged, "row": 0, "label": 1}],  # signed with another key
            [{"request_id": "ISSUED", "row": 2, "label": 1}],  # beyond the request's rows
            [{"request_id": "ISSUED", "row": 0, "label": 1}, {"request_id": "ISSUED", "row": 0, "label": 0}],
            [{"request_id": "ISSUED", "row": 0, "label": 1}],  # accepted
            [{"request_id": "ISSUED", "row": 0, "label": 0}],  # relabelling: refused
            [{"request_id": "ISSUED", "row": 1, "label": [[1]]}],  # not a scalar
        ],
    )
    assert statuses == [422, 422, 422, 422, 409, 202, 409, 422]


def test_refused_requests_get_ids_that_cannot_be_labelled(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient) -> int:
        refused = await client.post("/predict", json=[{"x1": "high"}])
        assert refused.status_code == 422
        rid = refused.json()["request_id"]
        return (await client.post("/feedback", json={"request_id": rid, "label": 1})).status_code

    assert run_app(make_state(tmp_path, model_set()), scenario) == 422


def test_feedback_size_and_rate_limits(tmp_path: Path) -> None:
    state = make_state(tmp_path, model_set(), max_feedback_items=3, feedback_labels_per_s=1.0)
    many = [{"request_id": "ISSUED", "row": i % 2, "label": 1} for i in range(4)]
    _, statuses = scored_then_labelled(
        state,
        [
            many,
            [{"request_id": "ISSUED", "row": 0, "label": 1}],
            [{"request_id": "ISSUED", "row": 1, "label": 1}],
        ]
        * 2,
    )
    assert statuses[0] == 413
    assert 429 in statuses  # a burst of 3 labels, then 1 per second


def test_expired_ids_are_refused_and_the_bucket_refills() -> None:
    ids = RequestIds(b"k" * 32)
    old = ids.issue(rows=1, now=1_000.0)
    assert ids.rows_of(old, now=1_000.0 + 3600, retention_s=3600) == 1
    assert ids.rows_of(old, now=1_000.0 + 3601, retention_s=3600) is None
    guard = LabelGuard(rate_per_s=10.0, burst=5)
    assert guard.take("c", 5, now=0.0) == 0.0
    assert guard.take("c", 5, now=0.1) > 0
    assert guard.take("c", 5, now=0.6) == 0.0
    assert guard.take("other", 5, now=0.6) == 0.0
