"""Small form of benchmarks/drift_concept.py, the harness behind the concept-drift defaults:
false alarms on long stable error streams and detection delay after a known change point.

Streams are Bernoulli 0/1 errors (a classifier's mistakes), error rate 0.10 before the change.
"""

from __future__ import annotations

import numpy as np
import pytest

from shipyard.config.policy import ConceptConfig
from shipyard.monitoring.concept import make_detectors

SEEDS = range(8)
LONG = 50_000


def _first_alarm(detector: object, stream: np.ndarray) -> int | None:
    for i, x in enumerate(stream.tolist()):
        detector.update(x)
        if detector.drift_detected:
            return i
    return None


def measure(name: str, config: ConceptConfig, *, rows: int, change_at: int, after: float) -> tuple:
    """(stable streams with an alarm, delays after the change, alarms before the change)."""
    false_alarms, delays, early = 0, [], 0
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        stable = (rng.random(rows) < 0.1).astype(float)
        false_alarms += _first_alarm(make_detectors(config)[name], stable) is not None
        changed = np.r_[rng.random(change_at) < 0.1, rng.random(rows - change_at) < after].astype(float)
        alarm = _first_alarm(make_detectors(config)[name], changed)
        if alarm is not None and alarm < change_at:
            early += 1
        elif alarm is not None:
            delays.append(alarm - change_at)
    return false_alarms, delays, early


@pytest.mark.parametrize("name", ["adwin", "page_hinkley"])
def test_defaults_are_quiet_on_long_streams_and_find_a_half_rise(name: str) -> None:
    false_alarms, delays, early = measure(name, ConceptConfig(), rows=LONG, change_at=LONG // 2, after=0.15)
    assert false_alarms == 0 and early == 0  # benchmark: 0 of 200 x 100,000 rows for both
    assert len(delays) == len(SEEDS)  # 0.10 -> 0.15 is found
    assert np.median(delays) <= 2000  # benchmark: median ~1,040 (ADWIN), ~1,200 (Page-Hinkley)


@pytest.mark.parametrize("name", ["adwin", "page_hinkley"])
def test_defaults_find_a_tripling_within_a_few_hundred_rows(name: str) -> None:
    _, delays, early = measure(name, ConceptConfig(), rows=3000, change_at=1000, after=0.3)
    assert early == 0 and len(delays) == len(SEEDS)
    assert np.median(delays) <= 300 and max(delays) <= 600


def test_rivers_forgetting_factor_alarms_on_stable_long_streams() -> None:
    # river's default alpha 0.9999: the cumulative sum forgets, and noise alone crosses the threshold
    forgetting, _, _ = measure(
        "page_hinkley", ConceptConfig(ph_alpha=0.9999), rows=LONG, change_at=1, after=0.1
    )
    assert forgetting >= len(SEEDS) - 1


def test_lower_page_hinkley_threshold_trades_false_alarms_for_delay() -> None:
    eager, default = ConceptConfig(ph_threshold=25.0, ph_delta=0.01), ConceptConfig()
    rate, _, _ = measure("page_hinkley", eager, rows=LONG, change_at=1, after=0.1)
    default_rate, _, _ = measure("page_hinkley", default, rows=LONG, change_at=1, after=0.1)
    assert rate > default_rate  # why the default is not lower
    _, delays, _ = measure("page_hinkley", eager, rows=3000, change_at=1000, after=0.3)
    _, default_delays, _ = measure("page_hinkley", default, rows=3000, change_at=1000, after=0.3)
    assert np.median(delays) < np.median(default_delays)
