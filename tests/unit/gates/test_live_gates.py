"""The traffic gates offline (on the test split) and on live figures."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from shipyard.core.results import Reason, Status
from shipyard.evaluation.outputs import ModelOutputs
from shipyard.evaluation.traffic import RouteSample, TrafficSample, psi_noise
from shipyard.gates.base import GateContext
from shipyard.gates.live import (
    ErrorRateGate,
    LatencyRatioGate,
    MeanConfidenceGate,
    PredictionShiftGate,
    ShadowAgreementGate,
    population_stability_index,
)

SEEDS = range(10)


def outputs(p1: np.ndarray) -> ModelOutputs:
    return ModelOutputs((p1 > 0.5).astype(int), np.column_stack([1 - p1, p1]), (0, 1))


def context(
    candidate: ModelOutputs, baseline: ModelOutputs | None = None, **performance: float
) -> GateContext:
    n = len(candidate.y_pred)
    return GateContext(
        "classification", np.zeros(n, int), candidate, {}, baseline=baseline, performance=performance
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_psi_is_small_for_one_distribution_and_large_for_a_shift(seed):
    rng = np.random.default_rng(seed)
    reference = rng.beta(2, 5, 5000)
    assert population_stability_index(reference, rng.beta(2, 5, 5000)) < 0.02
    assert population_stability_index(reference, rng.beta(5, 2, 5000)) > 1.0


def test_psi_of_labels_compares_category_shares():
    same = np.array(["a", "b"] * 50)
    assert population_stability_index(same, same) == pytest.approx(0)
    assert population_stability_index(same, np.array(["a"] * 90 + ["b"] * 10)) > 0.5
    assert np.isnan(population_stability_index(same, np.array([])))


@pytest.mark.parametrize("seed", SEEDS)
def test_prediction_shift_offline_compares_candidate_and_production_on_the_test_split(seed):
    rng = np.random.default_rng(seed)
    base = outputs(rng.beta(2, 5, 2000))
    assert (
        PredictionShiftGate().evaluate(context(outputs(rng.beta(2, 5, 2000)), base)).status is Status.PASSED
    )
    shifted = PredictionShiftGate().evaluate(context(outputs(rng.beta(5, 2, 2000)), base))
    assert shifted.reason is Reason.PREDICTION_SHIFT and shifted.observed > 0.2
    assert PredictionShiftGate().evaluate(context(base)).reason is Reason.NO_BASELINE


@pytest.mark.parametrize("seed", SEEDS)
def test_prediction_shift_waits_while_psi_noise_at_this_size_reaches_the_threshold(seed):
    # the false alarms: PSI 0.275 and 0.395 on ~110 rows of one distribution
    rng = np.random.default_rng(seed)
    result = PredictionShiftGate(max_psi=0.1).evaluate(
        context(outputs(rng.beta(2, 5, 110)), outputs(rng.beta(2, 5, 2000)))
    )
    assert result.status is Status.SKIPPED and result.reason is Reason.NOT_ENOUGH_DATA
    assert result.evidence["noise"] >= 0.1 and "noise level" in result.message


def test_psi_noise_matches_the_simulated_null_quantile():
    rng = np.random.default_rng(0)
    null = [population_stability_index(rng.beta(2, 5, 2000), rng.beta(2, 5, 150)) for _ in range(2000)]
    assert psi_noise(150, 2000, 10, alpha=0.05) == pytest.approx(np.quantile(null, 0.95), rel=0.15)


def live(
    *,
    requests: int = 0,
    errors: int = 0,
    base_requests: int = 0,
    base_errors: int = 0,
    ms: np.ndarray | None = None,
    rows: np.ndarray | None = None,
    base_ms: np.ndarray | None = None,
    base_rows: np.ndarray | None = None,
) -> GateContext:
    empty = np.empty(0)
    traffic = TrafficSample(
        RouteSample(requests, errors, empty if ms is None else ms, rows),
        RouteSample(base_requests, base_errors, empty if base_ms is None else base_ms, base_rows),
    )
    return replace(context(outputs(np.array([0.2]))), traffic=traffic)


def test_error_rate_and_latency_are_live_figures_skipped_offline():
    ctx = context(outputs(np.array([0.2, 0.9])))
    assert ErrorRateGate(max=0.01).evaluate(ctx).reason is Reason.NOT_MEASURED
    assert LatencyRatioGate().evaluate(ctx).reason is Reason.NOT_MEASURED


@pytest.mark.parametrize(
    ("errors", "requests", "status"),
    [
        (20, 100, Status.FAILED),  # the erroring canary: 20% of its requests
        (1, 30, Status.SKIPPED),  # one error in 30 where production fails 1%: noise, wait
        (0, 20, Status.SKIPPED),  # nothing wrong yet, but 20 requests cannot show <= +2.5%
        (4, 300, Status.PASSED),  # shown within max_increase
    ],
)
def test_error_rate_fails_beyond_noise_passes_when_shown_within_and_waits_otherwise(errors, requests, status):
    ctx = live(requests=requests, errors=errors, base_requests=3000, base_errors=30)
    result = ErrorRateGate(max_increase=0.025).evaluate(ctx)
    assert result.status is status
    assert (
        result.reason
        is {
            Status.FAILED: Reason.ERROR_RATE_ABOVE_LIMIT,
            Status.SKIPPED: Reason.NOT_ENOUGH_DATA,
            Status.PASSED: None,
        }[status]
    )


def test_error_rate_absolute_max_needs_the_canary_worse_than_production():
    # production fails 3% too: a canary as bad as production is not to blame for it
    ctx = live(requests=2000, errors=60, base_requests=20000, base_errors=600)
    assert ErrorRateGate(max=0.01).evaluate(ctx).status is not Status.FAILED
    worse = live(requests=2000, errors=200, base_requests=20000, base_errors=600)
    assert ErrorRateGate(max=0.01).evaluate(worse).reason is Reason.ERROR_RATE_ABOVE_LIMIT


def _calls(rng: np.random.Generator, n: int, share: float, slow: float, cost: tuple[float, float]):
    rows = 1 + rng.poisson(4 * share, n).astype(float)
    return slow * (cost[0] + cost[1] * rows) * rng.lognormal(0, 0.3, n), rows


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("cost", [(1.0, 0.1), (0.2, 1.0)], ids=["per-call cost", "per-row cost"])
def test_latency_compares_equal_batch_sizes_so_an_equal_model_on_small_batches_passes(seed, cost):
    rng = np.random.default_rng(seed)
    ms, rows = _calls(rng, 300, 0.05, 1.0, cost)  # the canary's batches: mostly 1 row
    base_ms, base_rows = _calls(rng, 3000, 0.95, 1.0, cost)  # production's: ~5 rows
    same = LatencyRatioGate(max_ratio=1.3).evaluate(
        live(ms=ms, rows=rows, base_ms=base_ms, base_rows=base_rows)
    )
    assert same.status is Status.PASSED and 0.8 < same.observed < 1.2, same.message
    assert "equal batch sizes" in same.message
    slow_ms, slow_rows = _calls(rng, 300, 0.05, 1.5, cost)
    slow = LatencyRatioGate(max_ratio=1.3).evaluate(
        live(ms=slow_ms, rows=slow_rows, base_ms=base_ms, base_rows=base_rows)
    )
    assert slow.reason is Reason.LATENCY_RATIO_ABOVE_LIMIT and 1.3 < slow.observed < 1.75, slow.message


def test_latency_waits_on_few_calls_and_compares_call_times_without_batch_rows():
    rng = np.random.default_rng(0)
    few = live(ms=rng.lognormal(0, 0.3, 3), base_ms=rng.lognormal(0, 0.3, 500))
    assert LatencyRatioGate().evaluate(few).reason is Reason.NOT_ENOUGH_DATA
    slow = live(ms=3 * rng.lognormal(0, 0.3, 200), base_ms=rng.lognormal(0, 0.3, 500))
    failed = LatencyRatioGate().evaluate(slow)
    assert failed.reason is Reason.LATENCY_RATIO_ABOVE_LIMIT and "call time" in failed.message
    assert LatencyRatioGate().evaluate(live(base_ms=np.ones(5))).reason is Reason.NOT_ENOUGH_DATA


def test_mean_confidence_floor_and_drop_from_production_beyond_noise():
    rng = np.random.default_rng(0)
    sure = outputs(np.where(rng.random(400) < 0.5, 0.95, 0.05))
    unsure = outputs(rng.uniform(0.4, 0.6, 400))
    assert MeanConfidenceGate(min=0.8).evaluate(context(sure)).status is Status.PASSED
    assert MeanConfidenceGate(min=0.8).evaluate(context(unsure)).reason is Reason.CONFIDENCE_BELOW_LIMIT
    assert MeanConfidenceGate(max_drop=0.1).evaluate(context(unsure, sure)).status is Status.FAILED
    two = outputs(np.array([0.55, 0.45]))
    assert MeanConfidenceGate(min=0.8).evaluate(context(two)).reason is Reason.NOT_ENOUGH_DATA
    no_proba = ModelOutputs(np.array([1.0, 2.0]))
    assert MeanConfidenceGate(min=0.5).evaluate(context(no_proba)).status is Status.SKIPPED


def test_shadow_agreement_offline_pairs_rows_and_live_reads_the_pairs():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=400)
    flipped = np.where(np.arange(400) < 100, 1 - p, p)
    offline = ShadowAgreementGate(min_agreement=0.9).evaluate(context(outputs(flipped), outputs(p)))
    assert offline.reason is Reason.SHADOW_DISAGREEMENT and offline.observed == pytest.approx(0.75, abs=0.03)
    a = outputs(np.array([0.9, 0.1]))
    agreeing = context(a, a, shadow_agreement=0.99, shadow_pairs=1000)
    assert ShadowAgreementGate().evaluate(agreeing).status is Status.PASSED
    assert ShadowAgreementGate().evaluate(context(a, a, shadow_agreement=0.92, shadow_pairs=40)).reason is (
        Reason.NOT_ENOUGH_DATA
    )
    assert ShadowAgreementGate().evaluate(context(a, a, shadow_pairs=0)).status is Status.SKIPPED
