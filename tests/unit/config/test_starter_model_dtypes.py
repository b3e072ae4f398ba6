"""The starter model code `shipyard init` writes (model/features.py, model/train.py) trains on a
frame of every dtype as `load_frame` reads it and scores one row, with its nulls."""

from __future__ import annotations

import datetime as dt
import types
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from shipyard.config.scaffold import render
from shipyard.data import load_frame

ROWS = 200


def _module(name: str, source: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, name, "exec"), module.__dict__)  # the rendered file, as the project imports it
    return module


def _every_dtype(tmp_path: Path) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    holes = rng.random(ROWS) < 0.2
    frame = pd.DataFrame(
        {
            "i8": rng.integers(-5, 5, ROWS).astype("int8"),
            "nint": pd.array(np.where(holes, None, rng.integers(0, 50, ROWS)), dtype="Int64"),
            "nflag": pd.array(np.where(holes, None, rng.random(ROWS) < 0.5), dtype="boolean"),
            "s_pa": pd.array(np.where(holes, None, rng.choice(["x", "y"], ROWS)), dtype="string[pyarrow]"),
            "s_py": pd.array(np.where(holes, None, rng.choice(["a", "b"], ROWS)), dtype="string[python]"),
            "cat": pd.Categorical(rng.choice(["lo", "hi"], ROWS)),
            "ts_tz": pd.Timestamp("2025-01-01", tz="Europe/Paris")
            + pd.to_timedelta(np.arange(ROWS), unit="h"),
            "td": pd.to_timedelta(rng.integers(0, 1000, ROWS), unit="s"),
            "dec": pd.array(
                [Decimal(f"{v:.2f}") for v in rng.uniform(0, 9, ROWS)], pd.ArrowDtype(pa.decimal128(6, 2))
            ),
            "day": pd.array(
                [dt.date(2025, 1, 1 + i % 28) for i in range(ROWS)], dtype=pd.ArrowDtype(pa.date32())
            ),
            "dpa": pd.array(np.where(holes, None, rng.normal(size=ROWS)), dtype="double[pyarrow]"),
            "y": rng.integers(0, 2, ROWS),
        }
    )
    frame.to_parquet(tmp_path / "data.parquet")
    return load_frame(tmp_path / "data.parquet")


def test_the_starter_model_trains_on_every_dtype_and_scores_one_row(tmp_path: Path) -> None:
    features = _module(
        "features",
        render("model/features.py", {"dropped": "[]", "sensitive": "[]", "datetimes": '["ts_tz", "day"]'}),
    )
    train = _module("train", render("model/train.py", {"estimator": "HistGradientBoostingClassifier"}))
    frame = _every_dtype(tmp_path)
    X = features.build_features(frame.drop(columns="y"))
    assert all(X[c].dtype == "float64" or X[c].dtype == object for c in X.columns)
    model = train.train(X, frame["y"], {"max_iter": 5})
    holes = frame.index[frame["s_pa"].isna() & frame["nflag"].isna()][:1]
    one = features.build_features(frame.drop(columns="y").loc[holes])
    assert one.equals(X.loc[holes])  # row-wise: one row's features are its features in the frame
    assert model.predict_proba(one).shape == (1, 2)
