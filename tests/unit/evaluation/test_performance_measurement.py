"""Latency, throughput, size and memory of a real scikit-learn model, measured cheaply."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.errors import ConfigError
from shipyard.evaluation import measure_performance
from shipyard.evaluation.performance import MIB


@pytest.fixture(scope="module")
def fitted() -> tuple[LogisticRegression, pd.DataFrame]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 5)), columns=list("abcde"))
    y = (X["a"] + rng.normal(size=300) > 0).astype(int)
    return LogisticRegression().fit(X, y), X


def test_a_small_model_is_measured_in_well_under_a_second(fitted, tmp_path):
    model, X = fitted
    path = tmp_path / "model"
    path.mkdir()
    (path / "model.pkl").write_bytes(pickle.dumps(model))
    (path / "extra.bin").write_bytes(b"x" * 10_000)
    start = time.process_time()  # CPU time: other jobs on a busy machine do not count
    figures = measure_performance(model.predict_proba, X, model_path=path)
    assert time.process_time() - start < 1.0
    assert 0 < figures["latency_p50_ms"] <= figures["latency_p95_ms"] <= figures["latency_p99_ms"]
    assert figures["throughput_rows_per_s"] > 0
    total = sum(p.stat().st_size for p in path.iterdir())
    assert figures["size_mb"] == pytest.approx(total / MIB)
    assert figures["peak_memory_mb"] > 0


def test_peak_memory_sees_numpy_allocations(fitted):
    _, X = fitted

    def predict(frame: pd.DataFrame) -> np.ndarray:
        work = np.ones((len(frame), 1000))  # 8 KB per row: 8 MB for the 1000-row batch
        return work.sum(axis=1)

    figures = measure_performance(predict, X, samples=10, warmup=0)
    assert 7.5 < figures["peak_memory_mb"] < 12


def test_latency_reflects_the_time_a_call_takes(fitted):
    _, X = fitted

    def slow(frame: pd.DataFrame) -> None:
        time.sleep(0.002)

    figures = measure_performance(slow, X, samples=20, warmup=1, batch=10)
    assert figures["latency_p50_ms"] >= 2.0
    assert figures["throughput_rows_per_s"] <= 10 / 0.002


def test_batch_larger_than_the_data_cycles_its_rows(fitted):
    _, X = fitted
    seen: list[int] = []
    measure_performance(lambda frame: seen.append(len(frame)), X.head(7), samples=3, warmup=2, batch=50)
    assert seen == [1] * 5 + [50, 50]


def test_a_model_file_is_measured_and_none_is_zero(fitted, tmp_path):
    model, X = fitted
    file = tmp_path / "model.pkl"
    file.write_bytes(b"y" * 2_000_000)
    assert measure_performance(model.predict, X, samples=5, model_path=file)["size_mb"] == pytest.approx(
        2_000_000 / MIB
    )
    assert measure_performance(model.predict, X, samples=5)["size_mb"] == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"samples": 0}, "'samples' must be an int >= 1. Got 0 instead."),
        ({"warmup": -1}, "'warmup' must be an int >= 0. Got -1 instead."),
        ({"batch": 1.5}, "'batch' must be an int >= 1. Got 1.5 instead."),
    ],
)
def test_bad_arguments_are_refused(fitted, kwargs, message):
    model, X = fitted
    with pytest.raises(ConfigError, match=message.replace(".", "\\.")):
        measure_performance(model.predict, X, **kwargs)


def test_no_rows_or_no_model_path_is_refused(fitted, tmp_path):
    model, X = fitted
    with pytest.raises(ConfigError, match="X has no rows"):
        measure_performance(model.predict, X.head(0))
    with pytest.raises(ConfigError, match="does not exist"):
        measure_performance(model.predict, X, model_path=tmp_path / "missing")
