"""The traffic gates offline (on the test split) and on live figures."""

from __future__ import annotations

import numpy as np
import pytest

from shipyard.core.results import Reason, Status
from shipyard.evaluation.outputs import ModelOutputs
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


def test_error_rate_and_latency_are_live_figures_skipped_offline():
    ctx = context(outputs(np.array([0.2, 0.9])))
    assert ErrorRateGate(max=0.01).evaluate(ctx).status is Status.SKIPPED
    assert LatencyRatioGate().evaluate(ctx).status is Status.SKIPPED


def test_error_rate_limits_absolute_and_relative_to_production():
    ctx = context(outputs(np.array([0.2])), error_rate=0.03, baseline_error_rate=0.025)
    assert ErrorRateGate(max=0.05).evaluate(ctx).status is Status.PASSED
    assert ErrorRateGate(max=0.02).evaluate(ctx).reason is Reason.ERROR_RATE_ABOVE_LIMIT
    assert ErrorRateGate(max_increase=0.01).evaluate(ctx).status is Status.PASSED
    assert ErrorRateGate(max_increase=0.001).evaluate(ctx).status is Status.FAILED


def test_latency_ratio_compares_the_same_percentile_with_production():
    ctx = context(
        outputs(np.array([0.2])), latency_p99_ms=30.0, baseline_latency_p99_ms=10.0, latency_p50_ms=5.0
    )
    failed = LatencyRatioGate(max_ratio=1.5).evaluate(ctx)
    assert failed.reason is Reason.LATENCY_RATIO_ABOVE_LIMIT and failed.observed == 3.0
    assert "3.00x > 1.5x" in failed.message
    assert LatencyRatioGate(max_ratio=3).evaluate(ctx).status is Status.PASSED
    assert LatencyRatioGate(percentile=50).evaluate(ctx).status is Status.SKIPPED


def test_mean_confidence_floor_and_drop_from_production():
    sure, unsure = outputs(np.array([0.95, 0.05, 0.9])), outputs(np.array([0.6, 0.4, 0.55]))
    assert MeanConfidenceGate(min=0.8).evaluate(context(sure)).status is Status.PASSED
    assert MeanConfidenceGate(min=0.8).evaluate(context(unsure)).reason is Reason.CONFIDENCE_BELOW_LIMIT
    assert MeanConfidenceGate(max_drop=0.1).evaluate(context(unsure, sure)).status is Status.FAILED
    no_proba = ModelOutputs(np.array([1.0, 2.0]))
    assert MeanConfidenceGate(min=0.5).evaluate(context(no_proba)).status is Status.SKIPPED


def test_shadow_agreement_offline_pairs_rows_and_live_reads_the_figure():
    a, b = outputs(np.array([0.9, 0.1, 0.8, 0.3])), outputs(np.array([0.9, 0.1, 0.2, 0.3]))
    offline = ShadowAgreementGate(min_agreement=0.8).evaluate(context(a, b))
    assert offline.reason is Reason.SHADOW_DISAGREEMENT and offline.observed == 0.75
    assert ShadowAgreementGate().evaluate(context(a, b, shadow_agreement=0.99)).status is Status.PASSED
    assert (
        ShadowAgreementGate().evaluate(context(a, b, shadow_agreement=float("nan"))).status is Status.SKIPPED
    )
