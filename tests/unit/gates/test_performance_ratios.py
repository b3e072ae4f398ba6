"""Cost ratios against production: candidate and production timed side by side on the same rows."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from probe_models import TARGET, context, fitted, raw_rows

from shipyard.core.results import Reason, Status
from shipyard.evaluation.performance import compare_cost
from shipyard.gates import PerformanceGate
from shipyard.training._servable import Servable


class _Sleepy:
    """Wraps a fitted estimator and sleeps `ms` per call: a model whose cost is known."""

    def __init__(self, estimator, ms: float) -> None:
        self.estimator, self.ms = estimator, ms
        self.classes_ = estimator.classes_

    def predict(self, X):
        time.sleep(self.ms / 1000)
        return self.estimator.predict(X)

    def predict_proba(self, X):
        time.sleep(self.ms / 1000)
        return self.estimator.predict_proba(X)


def _costing(model: Servable, ms: float) -> Servable:
    estimator = _Sleepy(model.estimator, ms)
    return Servable(estimator=estimator, features=model.features, task=model.task, target=TARGET)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return raw_rows(200)


@pytest.fixture(scope="module")
def model(rows: pd.DataFrame) -> Servable:
    return fitted(rows)


def _gate_context(rows, candidate, baseline, **fields):
    return context(rows, candidate, baseline_model=baseline, baseline_version="1", **fields)


def test_an_equally_costly_candidate_passes_the_latency_ratio(rows, model):
    gate = PerformanceGate(max_latency_ratio=1.5, samples=30)
    result = gate.evaluate(_gate_context(rows, _costing(model, 10.0), _costing(model, 10.0)))
    assert result.status is Status.PASSED, result.message
    side = result.evidence["side_by_side"]
    assert 0.67 < side["single_row_ratio"] < 1.5
    low, high = side["single_row_ratio_ci"]
    assert low <= side["single_row_ratio"] <= high


def test_a_three_times_slower_candidate_fails_with_the_ratio_in_the_message(rows, model):
    gate = PerformanceGate(max_latency_ratio=1.5, samples=30)
    result = gate.evaluate(_gate_context(rows, _costing(model, 40.0), _costing(model, 10.0)))
    assert result.status is Status.FAILED
    assert result.reason is Reason.LATENCY_RATIO_ABOVE_LIMIT
    assert "x production (v1) (at least" in result.message and "> 1.5x" in result.message
    assert result.observed["latency_ratio"] > 1.5


def test_a_ten_times_larger_model_folder_fails_the_size_ratio(rows, model, tmp_path):
    small, large = tmp_path / "small", tmp_path / "large"
    small.mkdir()
    large.mkdir()
    (small / "model.bin").write_bytes(b"x" * 100_000)
    (large / "model.bin").write_bytes(b"x" * 1_000_000)
    ctx = _gate_context(rows, model, model, model_dir=large, baseline_model_dir=small)
    result = PerformanceGate(max_size_ratio=2.0).evaluate(ctx)
    assert result.status is Status.FAILED and result.reason is Reason.SIZE_ABOVE_LIMIT
    assert "size 10.00x production (v1) > 2x" in result.message
    same = _gate_context(rows, model, model, model_dir=small, baseline_model_dir=small)
    assert PerformanceGate(max_size_ratio=2.0).evaluate(same).status is Status.PASSED


def test_without_production_the_ratios_skip_and_absolute_limits_still_apply(rows, model):
    ctx = context(rows, model, performance={"latency_p99_ms": 50.0})
    assert PerformanceGate(max_latency_ratio=1.5).evaluate(ctx).status is Status.SKIPPED
    both = PerformanceGate(max_latency_ratio=1.5, max_latency_p99_ms=10.0).evaluate(ctx)
    assert both.status is Status.FAILED and both.reason is Reason.LATENCY_ABOVE_LIMIT


def test_production_present_but_its_model_missing_fails_rather_than_skips(rows, model):
    ctx = context(rows, model, baseline_version="1")
    result = PerformanceGate(max_latency_ratio=1.5).evaluate(ctx)
    assert result.status is Status.FAILED and result.reason is Reason.INCONCLUSIVE
    assert "baseline_model" in result.message


def test_the_ratio_options_ask_for_both_models_only_when_set():
    assert PerformanceGate(max_latency_p99_ms=5.0).required_context() == frozenset()
    assert {"model", "baseline_model", "rows", "baseline_model_dir"} <= PerformanceGate(
        max_memory_ratio=2.0
    ).required_context()


def test_compare_cost_interleaves_so_each_model_is_timed_on_every_sampled_row(rows, model):
    calls: list[str] = []

    def candidate(frame):
        calls.append("c")
        return model.predict_frame(frame)

    def baseline(frame):
        calls.append("b")
        return model.predict_frame(frame)

    comparison = compare_cost(
        candidate, baseline, rows.drop(columns=[TARGET]), samples=40, warmup=2, batch=50, batch_repeats=4
    )
    assert calls.count("c") == calls.count("b") == 2 + 40 + 1 + 4 + 1
    # random order within each pair: both orders occur
    pairs = {"".join(calls[i : i + 2]) for i in range(4, 4 + 80, 2)}
    assert pairs == {"cb", "bc"}
    assert comparison.size_ratio is None
    assert comparison.memory_ratio > 0
