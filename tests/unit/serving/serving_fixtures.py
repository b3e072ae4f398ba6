"""Helpers for serving unit tests: real Servables and schema, the ASGI app through httpx.ASGITransport."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from shipyard.config.policy import ServingConfig
from shipyard.data.schema import ColumnSchema, Schema
from shipyard.serving.app import ServerState, create_app
from shipyard.serving.models import LoadedModel, ModelHolder, ModelSet
from shipyard.serving.validation import RequestValidator
from shipyard.training.packaging import Servable
from shipyard.workspace.logs import LogLocation

SCHEMA = Schema(
    target="label",
    rows=200,
    columns=(
        ColumnSchema("x1", "float", minimum=-10.0, maximum=10.0),
        ColumnSchema("x2", "float", nullable=True),
        ColumnSchema("n", "int", minimum=0, maximum=100),
        ColumnSchema("color", "string", categories=("g", "r")),
        ColumnSchema("when", "datetime"),
        ColumnSchema("label", "int", categories=(0, 1)),
    ),
)


def features(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {"x1": df.x1, "x2": df.x2.fillna(0.0), "n": df.n.astype(float), "g": (df.color == "g").astype(float)}
    )


def broken_features(df: pd.DataFrame) -> pd.DataFrame:
    raise RuntimeError("this shadow model is broken")


@functools.cache
def fitted(seed: int, *, feature_fn: Callable[[pd.DataFrame], pd.DataFrame] = features) -> Servable:
    rng = np.random.default_rng(seed)
    n = 200
    raw = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "n": rng.integers(0, 100, n),
            "color": rng.choice(["g", "r"], n),
        }
    )
    y = (raw.x1 + rng.normal(scale=0.5, size=n) > 0).astype(int)
    estimator = LogisticRegression(C=0.1 + seed).fit(features(raw), y)
    return Servable(estimator=estimator, features=feature_fn, task="classification", target="label")


def record(i: int = 0) -> dict[str, Any]:
    return {
        "x1": 0.1 * i,
        "x2": -0.2,
        "n": i % 100,
        "color": "g" if i % 2 else "r",
        "when": "2026-11-01T10:00:00",
    }


def make_state(tmp_path: Path, models: ModelSet, **config: Any) -> ServerState:
    validator = RequestValidator(SCHEMA, allow=frozenset({"key"}))
    return ServerState(ServingConfig(**config), ModelHolder.fixed(models), validator, LogLocation(tmp_path))


def model_set(**routes: Any) -> ModelSet:
    return ModelSet(model="tiny", production=LoadedModel("1", fitted(1)), **routes)


def run_app(state: ServerState, scenario: Callable[[httpx.AsyncClient], Coroutine[Any, Any, Any]]) -> Any:
    """Run `scenario(client)` against the app, then close the state (flushing the logs)."""

    async def main() -> Any:
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            try:
                return await scenario(client)
            finally:
                await state.close()

    return asyncio.run(main())
