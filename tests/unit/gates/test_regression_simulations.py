"""Operating characteristics of `no_regression`, checked by simulation for several seeds.

(a) Two equally good models sit on the boundary of a zero tolerance: every test lets
them through (rejects its null hypothesis) at no more than alpha. (b) At the test-set
size docs/statistics.md recommends for a one-point ROC AUC tolerance, an equally good
candidate passes, a one-point better one is shown superior, each with 80% power, and a
one-point worse one fails. (c) With Holm's correction, k comparisons of equal models
claim no more than alpha family-wise; without it they claim far more.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from shipyard.core.results import Status
from shipyard.evaluation.outputs import ModelOutputs
from shipyard.evaluation.power import auc_rows_required
from shipyard.gates.base import GateContext
from shipyard.gates.regression import NoRegressionGate

ALPHA = 0.05
SEPARATION = 1.5  # positives' latent shift: ROC AUC ~0.845 with PRIVATE noise below
PRIVATE = 0.3  # each model's own noise on a shared latent score: AUC estimates correlate ~0.9
PREVALENCE = 0.1


def _outputs(score: np.ndarray) -> ModelOutputs:
    p = 1 / (1 + np.exp(-(score - SEPARATION / 2)))
    return ModelOutputs((p > 0.5).astype(int), np.column_stack([1 - p, p]), (0, 1))


def _independent(seed: int, n: int) -> GateContext:
    """Two equally good models with independent noise: same score distribution."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    candidate, baseline = (_outputs(y * SEPARATION + rng.normal(size=n)) for _ in range(2))
    return GateContext("classification", y, candidate, {}, baseline=baseline, seed=seed)


def _retrain(seed: int, n: int, auc_change: float = 0.0) -> GateContext:
    """Production and a retrain sharing a latent score; the candidate's ROC AUC moved by `auc_change`."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < PREVALENCE).astype(int)
    latent = y * SEPARATION + rng.normal(size=n)
    spread = math.sqrt(2 * (1 + PRIVATE**2))
    auc = NormalDist().cdf(SEPARATION / spread)
    shift = NormalDist().inv_cdf(auc + auc_change) * spread - SEPARATION
    baseline = _outputs(latent + rng.normal(scale=PRIVATE, size=n))
    candidate = _outputs(latent + shift * y + rng.normal(scale=PRIVATE, size=n))
    return GateContext("classification", y, candidate, {}, baseline=baseline, seed=seed)


def _rate(gate: NoRegressionGate, contexts: list[GateContext], status: Status) -> float:
    return float(np.mean([gate.evaluate(ctx).status is status for ctx in contexts]))


def _slack(p: float, runs: int) -> float:
    """Three Monte Carlo standard errors of a rate `p` estimated from `runs` simulations."""
    return 3 * math.sqrt(p * (1 - p) / runs)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    ("metric", "method", "mode", "runs", "n"),
    [
        ("roc_auc", "delong", "non_inferiority", 300, 400),
        ("roc_auc", "delong", "superiority", 300, 400),
        ("accuracy", "mcnemar", "non_inferiority", 300, 400),
        ("roc_auc", "bootstrap", "non_inferiority", 60, 150),
    ],
)
def test_equal_models_pass_a_zero_tolerance_at_most_alpha(seed, metric, method, mode, runs, n):
    gate = NoRegressionGate(metric=metric, method=method, tolerance=0.0, mode=mode, n_resamples=200)
    contexts = [_independent(10_000 * seed + i, n) for i in range(runs)]
    assert _rate(gate, contexts, Status.PASSED) <= ALPHA + _slack(ALPHA, runs)


def test_tangos_margin_test_holds_alpha_at_the_margin():
    # Accuracy exactly `margin` lower: the non-inferiority null's boundary.
    rng = np.random.default_rng(0)
    runs, n, margin = 400, 1000, 0.03
    gate = NoRegressionGate(metric="accuracy", tolerance=margin)
    contexts = []
    for i in range(runs):
        y = rng.integers(0, 2, n)
        right_b = rng.random(n) < 0.85
        # discordant cells 0.06 and 0.09: candidate accuracy 0.03 lower
        u = rng.random(n)
        right_c = np.where(right_b, u >= 0.09 / 0.85, u < 0.06 / 0.15)
        pred_c, pred_b = np.where(right_c, y, 1 - y), np.where(right_b, y, 1 - y)
        contexts.append(
            GateContext("classification", y, ModelOutputs(pred_c), {}, baseline=ModelOutputs(pred_b))
        )
        del i
    assert _rate(gate, contexts, Status.PASSED) <= ALPHA + _slack(ALPHA, runs)


RECOMMENDED = auc_rows_required(0.01, auc=0.85, prevalence=PREVALENCE, correlation=0.9)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_recommended_size_has_power_for_a_one_point_auc_change(seed):
    runs = 100
    slack = _slack(0.8, runs)
    gate = NoRegressionGate(metric="roc_auc", tolerance=0.01)
    equal = [_retrain(10_000 * seed + i, RECOMMENDED) for i in range(runs)]
    assert _rate(gate, equal, Status.PASSED) >= 0.8 - slack
    worse = [_retrain(10_000 * seed + i, RECOMMENDED, -0.01) for i in range(runs)]
    assert _rate(gate, worse, Status.FAILED) >= 1 - ALPHA - _slack(ALPHA, runs)
    superiority = NoRegressionGate(metric="roc_auc", mode="superiority", tolerance=0.01)
    better = [_retrain(10_000 * seed + i, RECOMMENDED, 0.01) for i in range(runs)]
    assert _rate(superiority, better, Status.PASSED) >= 0.8 - slack


def _sliced(seed: int, k: int, n: int) -> GateContext:
    ctx = _independent(seed, n)
    rows = pd.DataFrame({"group": np.arange(n) % k, "target": ctx.y_true})
    return GateContext("classification", ctx.y_true, ctx.candidate, {}, baseline=ctx.baseline, rows=rows)


@pytest.mark.parametrize("seed", [0, 1])
def test_holm_keeps_the_family_wise_rate_of_claims_at_alpha(seed):
    runs, k = 200, 5
    gate = NoRegressionGate(metric="roc_auc", tolerance=0.0, slices=["group"])
    comparisons = [
        gate.evaluate(_sliced(10_000 * seed + i, k, 1000)).evidence["comparisons"] for i in range(runs)
    ]
    assert all(len(c) == k + 1 for c in comparisons)
    holm = np.mean([any(row["verdict"] == "pass" for row in c) for c in comparisons])
    assert holm <= ALPHA + _slack(ALPHA, runs)
    # the same six comparisons without correction: about 20% of the families claim one
    uncorrected = np.mean([any(row["p_value"] <= ALPHA for row in c) for c in comparisons])
    assert uncorrected > 2 * ALPHA
