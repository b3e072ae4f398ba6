"""Operating characteristics of the no-regression gate on retrained-model-like pairs.

A retrained model and production share most of their signal, so their paired scores
are strongly correlated: the paired bootstrap then resolves small differences. These
rates are what the gate's users rely on: an equally good retrain ships, a clearly worse
one does not.
"""

from __future__ import annotations

import numpy as np
import pytest

from shipyard.core.results import Status
from shipyard.evaluation.metrics import METRICS
from shipyard.evaluation.outputs import ModelOutputs
from shipyard.gates.base import GateContext
from shipyard.gates.regression import NoRegressionGate


def _pair(seed: int, n: int, candidate_shift: float) -> GateContext:
    """Production and a retrain scoring the same latent signal with small private noise."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    latent = y * 1.5 + rng.normal(size=n)

    def outputs(signal: np.ndarray) -> ModelOutputs:
        p = 1 / (1 + np.exp(-(signal - 0.75)))
        return ModelOutputs((p > 0.5).astype(int), np.column_stack([1 - p, p]), (0, 1))

    baseline = outputs(latent + rng.normal(scale=0.3, size=n))
    candidate = outputs(latent - candidate_shift * y + rng.normal(scale=0.3, size=n))
    return GateContext(
        task="classification", y_true=y, candidate=candidate, baseline=baseline, metrics={}, seed=seed
    )


@pytest.mark.parametrize("master_seed", [0, 1])
def test_an_equally_good_retrain_passes_a_one_point_tolerance(master_seed):
    gate = NoRegressionGate(metric="roc_auc", tolerance=0.01, confidence=0.95, n_resamples=300)
    runs = 30
    passes = sum(
        gate.evaluate(_pair(1000 * master_seed + i, 5000, 0.0)).status is Status.PASSED for i in range(runs)
    )
    # Expected ~0.96 at 5,000 rows (standard error of the paired difference ~0.003).
    assert passes / runs >= 0.85


@pytest.mark.parametrize("master_seed", [0, 1])
def test_a_retrain_three_auc_points_worse_is_caught(master_seed):
    gate = NoRegressionGate(metric="roc_auc", tolerance=0.01, confidence=0.95, n_resamples=300)
    runs = 30
    ctx = _pair(master_seed, 2000, 0.2)
    drop = METRICS["roc_auc"](ctx.y_true, ctx.baseline) - METRICS["roc_auc"](ctx.y_true, ctx.candidate)
    assert 0.02 < drop < 0.045  # the simulated regression is the size the test claims
    fails = sum(
        gate.evaluate(_pair(1000 * master_seed + i, 2000, 0.2)).status is Status.FAILED for i in range(runs)
    )
    assert fails / runs >= 0.95
