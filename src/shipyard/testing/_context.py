"""A small, fully filled `GateContext` on synthetic card transactions, for conformance checks.

Rows have a numeric `amount` (positive), an integer `account_age_days`, a categorical
`device`, a datetime `timestamp` and a binary `label` that depends on the first
three. The candidate and the baseline are scikit-learn logistic regressions on
different features, so their outputs differ but both are reasonable.
"""

from __future__ import annotations

import atexit
import copy
import dataclasses
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shipyard.gates.base import GateContext

if TYPE_CHECKING:
    from shipyard.training._servable import Servable

TARGET = "label"
COLUMNS = ("amount", "account_age_days", "device", "timestamp")
_TRAIN_ROWS, _TEST_ROWS = 300, 200
_PERFORMANCE = {
    "latency_p50_ms": 1.0,
    "latency_p95_ms": 2.0,
    "latency_p99_ms": 3.0,
    "size_mb": 0.1,
    "peak_memory_mb": 5.0,
    "throughput_rows_per_s": 50_000.0,
}


def synthetic_rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.lognormal(3.0, 1.0, n).round(2),
            "account_age_days": rng.integers(0, 3000, n),
            "device": rng.choice(["web", "ios", "android"], n, p=[0.5, 0.3, 0.2]),
            "timestamp": pd.Timestamp("2026-01-01")
            + pd.to_timedelta(np.sort(rng.integers(0, 10**7, n)), "s"),
        }
    )
    logit = 0.8 * np.log(frame.amount) - frame.account_age_days / 800 + (frame.device == "web") - 1.5
    frame[TARGET] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def _model(rows: pd.DataFrame, numeric: list[str], categorical: list[str]) -> object:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    encode = ColumnTransformer(
        [("num", StandardScaler(), numeric), ("cat", OneHotEncoder(handle_unknown="ignore"), categorical)]
    )
    model = Pipeline([("encode", encode), ("model", LogisticRegression())])
    return model.fit(rows[numeric + categorical], rows[TARGET])


@cache
def _workdir() -> Path:
    """One temporary folder per process for packaged models, removed when the process exits."""
    folder = Path(tempfile.mkdtemp(prefix="shipyard-conformance-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _models(train: pd.DataFrame) -> tuple[Servable, Servable]:
    """The candidate and the baseline, both fitted on `train`."""
    from shipyard.training._servable import Servable

    candidate = _model(train, ["amount", "account_age_days"], ["device"])
    baseline = _model(train, ["amount"], ["device"])
    return (
        Servable(candidate, None, "classification", TARGET),
        Servable(baseline, None, "classification", TARGET),
    )


@cache
def _package() -> Path:
    from shipyard.core.environment import capture_fingerprint
    from shipyard.training.packaging import package_model

    root = _workdir()
    train = synthetic_rows(_TRAIN_ROWS, seed=1)
    return package_model(
        _models(train)[0],
        out_dir=root / "model",
        project_root=root,
        features_ref=None,
        code_files=[],
        input_example=train.head(5),
        fingerprint=capture_fingerprint(["scikit-learn"]),
    )


def synthetic_context(*, with_baseline: bool = True, package: bool = False) -> GateContext:
    """A binary-classification `GateContext` with every optional field filled.

    `with_baseline=False` gives the first-model case (no production model, no
    baseline outputs). `package=True` also writes the candidate as a model folder
    (`model_dir`; costs an MLflow import, so only gates that need it ask).
    Every call returns equal data in fresh objects (a deep copy), so a gate that
    mutates its context cannot affect the next call.
    """
    ctx = copy.deepcopy(_template(with_baseline))
    return dataclasses.replace(ctx, model_dir=_package()) if package else ctx


@cache
def _template(with_baseline: bool) -> GateContext:
    """The context, built once per process: fitting and metrics take about a second."""
    from shipyard.config.policy import SplitConfig
    from shipyard.data.schema import infer_schema
    from shipyard.evaluation.metrics import METRICS, compute_metrics
    from shipyard.evaluation.slices import slice_metrics

    train, test = synthetic_rows(_TRAIN_ROWS, seed=1), synthetic_rows(_TEST_ROWS, seed=2)
    candidate, baseline = _models(train)
    y_true = test[TARGET].to_numpy()
    outputs = candidate.outputs(test)
    names = [name for name, metric in METRICS.items() if metric.task == "classification"]
    metrics = compute_metrics("classification", y_true, outputs, names)
    baseline_outputs = baseline.outputs(test) if with_baseline else None
    return GateContext(
        task="classification",
        y_true=y_true,
        candidate=outputs,
        metrics=metrics,
        baseline=baseline_outputs,
        baseline_version="1" if with_baseline else None,
        baseline_metrics=compute_metrics("classification", y_true, baseline_outputs, names)
        if baseline_outputs is not None
        else {},
        performance=dict(_PERFORMANCE),
        slices=slice_metrics("classification", y_true, outputs, test, ["device"], list(metrics)),
        seed=0,
        target=TARGET,
        rows=test,
        train_rows=train,
        model=candidate,
        baseline_model=baseline if with_baseline else None,
        schema=infer_schema(pd.concat([train, test], ignore_index=True), target=TARGET),
        split=SplitConfig(method="time", column="timestamp", test_size=0.4),
        project_root=_workdir(),
    )
