"""Side by side with `mlflow models serve`: the same payloads and error cases, the same statuses and bodies.

One MLflow scoring server (~11 s to start) serves a logistic regression with a signature;
the Shipyard app serves the same estimator in process with the equivalent schema.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.config.policy import ServingConfig
from shipyard.data.schema import ColumnSchema, Schema
from shipyard.serving.app import ServerState, create_app
from shipyard.serving.models import LoadedModel, ModelHolder, ModelSet
from shipyard.serving.validation import RequestValidator
from shipyard.training.packaging import Servable
from shipyard.workspace.logs import LogLocation

pytestmark = pytest.mark.integration

ROWS = [[0.5, -1.0], [1.5, 2.0]]
JSON = {"content-type": "application/json"}
CASES: dict[str, tuple[Any, dict[str, str]]] = {
    "dataframe_split": ({"dataframe_split": {"columns": ["x1", "x2"], "data": ROWS}}, JSON),
    "dataframe_records": ({"dataframe_records": [{"x1": a, "x2": b} for a, b in ROWS]}, JSON),
    "instances_records": ({"instances": [{"x1": a, "x2": b} for a, b in ROWS]}, JSON),
    "instances_columns": ({"instances": {"x1": [0.5, 1.5], "x2": [-1.0, 2.0]}}, JSON),
    "inputs_columns": ({"inputs": {"x1": [0.5, 1.5], "x2": [-1.0, 2.0]}}, JSON),
    "csv": ("x1,x2\n0.5,-1.0\n1.5,2.0\n", {"content-type": "text/csv"}),
    "text_plain": ('{"inputs": {"x1": [0.5]}}', {"content-type": "text/plain"}),
    "xml": ("<x1>0.5</x1>", {"content-type": "application/xml"}),
    "latin1": ('{"inputs": {"x1": [0.5]}}', {"content-type": "application/json; charset=latin-1"}),
    "malformed_json": ('{"inputs": [', JSON),
    "no_format_key": ({"rows": [{"x1": 0.5, "x2": 1.0}]}, JSON),
    "wrong_type": ({"dataframe_records": [{"x1": "abc", "x2": 1.0}]}, JSON),
    "missing_column": ({"dataframe_records": [{"x1": 0.5}]}, JSON),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def estimator() -> LogisticRegression:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x1": rng.normal(size=200), "x2": rng.normal(size=200)})
    return LogisticRegression().fit(frame, (frame.x1 > 0).astype(int))


@pytest.fixture(scope="module")
def mlflow_url(estimator: LogisticRegression, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    folder = tmp_path_factory.mktemp("mlflow") / "model"
    frame = pd.DataFrame(ROWS, columns=["x1", "x2"])
    mlflow.sklearn.save_model(
        estimator, folder, signature=infer_signature(frame, estimator.predict(frame)),
        pip_requirements=["scikit-learn"],
    )  # fmt: skip
    port = _free_port()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(folder), "--env-manager", "local",
         "-h", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # ~11 s on an idle machine; far more on a loaded one
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            raise AssertionError("mlflow models serve did not start")
        yield url
    finally:
        proc.terminate()
        proc.communicate(timeout=60)


def _shipyard_answers(estimator: LogisticRegression, tmp_path: Path) -> dict[str, httpx.Response]:
    schema = Schema(target="y", rows=200, columns=(ColumnSchema("x1", "float"), ColumnSchema("x2", "float")))
    servable = Servable(
        estimator=estimator, features=lambda df: df[["x1", "x2"]], task="classification", target="y"
    )
    models = ModelSet(model="m", production=LoadedModel("1", servable))
    state = ServerState(
        ServingConfig(), ModelHolder.fixed(models), RequestValidator(schema), LogLocation(tmp_path)
    )

    async def main() -> dict[str, httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            try:
                return {name: await _post(client, "/invocations", *case) for name, case in CASES.items()}
            finally:
                await state.close()

    return asyncio.run(main())


async def _post(client: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else httpx.Request("POST", "/", json=body).content
    return await client.post(path, content=content, headers=headers)


def test_same_statuses_and_error_bodies_as_mlflow_models_serve(
    mlflow_url: str, estimator: LogisticRegression, tmp_path: Path
) -> None:
    ours = _shipyard_answers(estimator, tmp_path)

    async def theirs() -> dict[str, httpx.Response]:
        async with httpx.AsyncClient(base_url=mlflow_url, timeout=30) as client:
            return {name: await _post(client, "/invocations", *case) for name, case in CASES.items()}

    mlflow = asyncio.run(theirs())
    table = {name: (mlflow[name].status_code, ours[name].status_code) for name in CASES}
    assert all(theirs == mine for theirs, mine in table.values()), table
    for name, response in ours.items():
        if response.status_code == 200:
            assert len(response.json()["predictions"]) == len(mlflow[name].json()["predictions"]) == 2
        elif response.status_code == 400:
            assert {"error_code", "message"} <= set(mlflow[name].json()) & set(response.json())
            # MLflow itself says BAD_REQUEST or INVALID_PARAMETER_VALUE (both 400) for input it refuses
            assert response.json()["error_code"] == "BAD_REQUEST", name
            assert mlflow[name].json()["error_code"] in ("BAD_REQUEST", "INVALID_PARAMETER_VALUE"), name
    assert httpx.get(f"{mlflow_url}/version").text == version("mlflow")  # what our /version answers
