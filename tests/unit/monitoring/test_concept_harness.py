"""The harness behind the concept-drift defaults: false alarms on stable error streams and
detection delay after a known change point, over many seeds (numbers in docs/monitoring.md).

Streams are Bernoulli 0/1 errors (a classifier's mistakes), error rate 0.1 before the change.
"""

from __future__ import annotations

import numpy as np
import pytest

from shipyard.config.policy import ConceptConfig
from shipyard.monitoring.concept import make_detectors

SEEDS = range(30)
STABLE_ROWS = 3000
CHANGE_AT = 1000


def _first_alarm(detector: object, stream: np.ndarray) -> int | None:
    for i, x in enumerate(stream.tolist()):
        detector.update(x)
        if detector.drift_detected:
            return i
    return None


def measure(name: str, after: float, config: ConceptConfig) -> tuple[float, list[int], int]:
    """(false-alarm rate on stable streams, delays after the change, alarms before the change)."""
    false_alarms, delays, early = 0, [], 0
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        stable = (rng.random(STABLE_ROWS) < 0.1).astype(float)
        false_alarms += _first_alarm(make_detectors(config)[name], stable) is not None
        changed = np.r_[rng.random(CHANGE_AT) < 0.1, rng.random(2000) < after].astype(float)
        alarm = _first_alarm(make_detectors(config)[name], changed)
        if alarm is not None and alarm < CHANGE_AT:
            early += 1
        elif alarm is not None:
            delays.append(alarm - CHANGE_AT)
    return false_alarms / len(SEEDS), delays, early


@pytest.mark.parametrize(
    ("name", "max_median_delay"),
    [("adwin", 250), ("page_hinkley", 250)],
)
def test_defaults_hold_false_alarms_and_delay(name: str, max_median_delay: int) -> None:
    false_alarm_rate, delays, early = measure(name, 0.3, ConceptConfig())
    assert false_alarm_rate <= 0.05  # measured 0.0 for both over 30 x 3,000 stable rows
    assert early <= 1
    assert len(delays) >= len(SEEDS) - 1  # the error rate tripling is found
    assert np.median(delays) <= max_median_delay  # measured ~120 (ADWIN), ~130 (Page-Hinkley)
    assert max(delays) <= 600


def test_a_smaller_change_is_found_later() -> None:
    _, big, _ = measure("page_hinkley", 0.3, ConceptConfig())
    _, small, _ = measure("page_hinkley", 0.2, ConceptConfig())
    assert np.median(small) > np.median(big)


def test_lower_page_hinkley_threshold_trades_false_alarms_for_delay() -> None:
    eager = ConceptConfig(ph_threshold=10.0, ph_delta=0.005)
    rate, delays, _ = measure("page_hinkley", 0.3, eager)
    default_rate, default_delays, _ = measure("page_hinkley", 0.3, ConceptConfig())
    assert rate > default_rate  # why the default is not lower
    assert np.median(delays) < np.median(default_delays)
