"""Small real models on raw rows, for the gates that call a model (behaviour, robustness,
reproducibility): a logistic regression whose dependence on each column is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from shipyard.data.schema import Schema, infer_schema
from shipyard.gates.base import GateContext
from shipyard.training._servable import Servable

TARGET = "label"


def raw_rows(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """x1 drives the label, x2 a little, color 'g' a little; `note` is never used."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.uniform(0, 10, size=n),
            "count": rng.integers(0, 100, size=n),
            "color": rng.choice(["r", "g", "b"], size=n),
            "note": rng.choice(["a", "b", "c", "d"], size=n),
        }
    )
    logit = 2 * frame.x1 + 0.1 * (frame.x2 - 5) + 0.5 * (frame.color == "g")
    frame[TARGET] = (logit + rng.normal(scale=0.5, size=n) > 0).astype(int)
    return frame


def features(df: pd.DataFrame) -> pd.DataFrame:
    """Row-wise features."""
    return pd.DataFrame(
        {
            "x1": df["x1"].astype(float),
            "x2": df["x2"].astype(float),
            "count": df["count"].astype(float),
            "is_g": (df["color"] == "g").astype(float),
        },
        index=df.index,
    )


def batch_features(df: pd.DataFrame) -> pd.DataFrame:
    """Not row-wise: x1 centred on the batch mean, so one served row differs from training."""
    out = features(df)
    out["x1"] = out["x1"] - out["x1"].mean()
    return out


def fitted(rows: pd.DataFrame, features_fn=features) -> Servable:
    X = features_fn(rows.drop(columns=[TARGET]))
    estimator = LogisticRegression(max_iter=1000).fit(X, rows[TARGET])
    return Servable(estimator=estimator, features=features_fn, task="classification", target=TARGET)


def schema_of(rows: pd.DataFrame) -> Schema:
    return infer_schema(rows, target=TARGET)


def context(rows: pd.DataFrame, model: Servable, *, schema: Schema | None = None, **fields) -> GateContext:
    return GateContext(
        task="classification",
        y_true=rows[TARGET].to_numpy(),
        candidate=model.outputs(rows),
        metrics={},
        target=TARGET,
        rows=rows,
        model=model,
        schema=schema,
        **fields,
    )


def write_module(folder: Path, name: str, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(source)
    return path
