"""Concept drift on river's synthetic SEA stream with a known change point, and rolling metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from shipyard.config.policy import ConceptConfig
from shipyard.evaluation.outputs import ModelOutputs
from shipyard.monitoring.concept import detect_changes, error_stream, rolling_metrics

CHANGE_AT = 2000
START = datetime(2026, 11, 1, tzinfo=UTC)


def sea_errors(seed: int) -> np.ndarray:
    """Errors of the concept-0 SEA rule on a stream that switches to concept 3 at CHANGE_AT."""
    from river.datasets import synth

    stream = synth.ConceptDriftStream(
        stream=synth.SEA(seed=seed, variant=0, noise=0.1),
        drift_stream=synth.SEA(seed=seed, variant=3, noise=0.1),
        position=CHANGE_AT,
        width=50,
        seed=seed,
    )
    return np.array([float((x[0] + x[1] > 8) != y) for x, y in stream.take(2 * CHANGE_AT)])


@pytest.mark.parametrize("seed", range(6))
def test_sea_change_is_detected_within_a_bounded_delay(seed: int) -> None:
    errors = sea_errors(seed)
    stamps = [START + timedelta(minutes=i) for i in range(len(errors))]
    alerts = detect_changes(errors, ConceptConfig(), stamps)
    assert all(a.index >= CHANGE_AT for a in alerts), "no alarm before the change"
    first = {a.detector: a for a in reversed(alerts)}
    assert set(first) == {"adwin", "page_hinkley"}
    for alert in first.values():
        # the defaults hold false alarms at <= 5% of 100,000-row stable streams, so a doubling of
        # the error rate takes a few hundred rows more than with the old short-stream defaults
        assert alert.index - CHANGE_AT <= 700
        assert alert.at == stamps[alert.index]
        assert alert.at.strftime("%Y-%m-%d %H:%M:%S") in alert.message
        assert alert.evidence["mean_error_recent"] > alert.evidence["mean_error_before"]


def test_error_streams() -> None:
    np.testing.assert_array_equal(error_stream("classification", ["1", "0", "1"], [1, 0, 0]), [0, 0, 1])
    np.testing.assert_allclose(error_stream("regression", [1.0, 2.0], ["1.5", "1.0"]), [0.5, 1.0])


def test_rolling_metrics_alert_when_worse_than_offline() -> None:
    rng = np.random.default_rng(0)
    n = 1000
    y_true = rng.choice(["0", "1"], n)
    good = rng.random(n) < 0.9  # 90% correct, then 60% in the second half
    good[n // 2 :] = rng.random(n // 2) < 0.6
    y_pred = np.where(good, y_true, np.where(y_true == "1", "0", "1"))
    outputs = ModelOutputs(y_pred, None, ("0", "1"))
    config = ConceptConfig(window=250, max_metric_drop=0.1)
    stamps = [START + timedelta(seconds=i) for i in range(n)]
    windows, alerts = rolling_metrics(
        "classification", y_true, outputs, {"accuracy": 0.9}, ["accuracy"], config, stamps
    )
    assert [(w.start, w.end) for w in windows] == [(0, 250), (250, 500), (500, 750), (750, 1000)]
    assert [a.index for a in alerts] == [749, 999]
    assert alerts[0].detector == "rolling_accuracy" and alerts[0].at == stamps[749]
    assert "offline 0.9" in alerts[0].message


def test_rolling_metrics_know_the_direction_of_each_metric() -> None:
    y_true = np.arange(100, dtype=float)
    outputs = ModelOutputs(y_true + 2.0)
    config = ConceptConfig(window=50, max_metric_drop=0.5)
    windows, alerts = rolling_metrics("regression", y_true, outputs, {"mae": 1.0}, ["mae"], config)
    assert [w.drop for w in windows] == [1.0, 1.0]  # mae 2.0 is worse than 1.0 by 1.0
    assert len(alerts) == 2
    _, none = rolling_metrics("regression", y_true, outputs, {"mae": 3.0}, ["mae"], config)
    assert none == []
