"""NoRegressionGate: a calibrated non-inferiority test against the production model."""

from __future__ import annotations

import re

import numpy as np
import pytest

from shipyard.core.results import Reason, Status
from shipyard.errors import ConfigError
from shipyard.evaluation import ModelOutputs
from shipyard.gates import GateContext, NoRegressionGate

SAME = 1.5  # separation giving ROC AUC ~0.855
WORSE = 1.216  # ROC AUC ~0.805: five points lower


@pytest.mark.parametrize("master_seed", [0, 1])
def test_equal_models_pass_at_zero_tolerance_no_more_often_than_alpha(make_context, master_seed):
    # Equal models sit on the boundary of "candidate worse": a calibrated test lets
    # them through at rate ~ (1 - confidence), never much more.
    gate = NoRegressionGate(metric="roc_auc", tolerance=0.0, confidence=0.95, n_resamples=200)
    datasets = 200
    passes = sum(
        gate.evaluate(make_context(seed=1000 * master_seed + i, n=500)).status is Status.PASSED
        for i in range(datasets)
    )
    assert 0 < passes / datasets <= 0.05 + 0.05


def test_a_model_five_auc_points_worse_fails(make_context, seed):
    ctx = make_context(seed=seed, n=2000, candidate=WORSE, baseline=SAME, baseline_version="7")
    result = NoRegressionGate(metric="roc_auc").evaluate(ctx)
    assert result.status is Status.FAILED and result.reason is Reason.REGRESSION
    assert re.fullmatch(
        r"roc_auc = 0\.\d+, production = 0\.\d+, difference -0\.\d+, 90% CI \[-0\.\d+, -0\.\d+\], "
        r"DeLong p = [\d.e-]+ vs alpha 0\.05: not shown non-inferior within 0\.01 \(tolerance\) -> FAIL",
        result.message,
    ), result.message
    evidence = result.evidence
    assert evidence["baseline_version"] == "7" and evidence["test"] == "delong"
    assert evidence["lower_bound"] < evidence["oriented_difference"] < 0
    assert evidence["interval_low"] == evidence["lower_bound"]
    assert evidence["p_value"] == evidence["p_adjusted"] > 0.05
    [row] = evidence["comparisons"]
    assert row["slice"] == "overall" and row["verdict"] == "regression"


def test_an_equal_model_passes_a_realistic_tolerance(make_context, seed):
    ctx = make_context(seed=seed, n=2000, candidate=SAME, baseline=SAME)
    result = NoRegressionGate(metric="roc_auc", tolerance=0.05).evaluate(ctx)
    assert result.status is Status.PASSED, result.message
    assert result.message.endswith("non-inferior within 0.05 (tolerance) -> PASS")


def _regression_context(seed: int, candidate_noise: float, baseline_noise: float) -> GateContext:
    rng = np.random.default_rng(seed)
    y = rng.normal(50, 10, 1000)
    return GateContext(
        task="regression",
        y_true=y,
        candidate=ModelOutputs(y + rng.normal(0, candidate_noise, len(y))),
        baseline=ModelOutputs(y + rng.normal(0, baseline_noise, len(y))),
        metrics={},
        seed=seed,
    )


def test_lower_is_better_metrics_are_oriented(seed):
    gate = NoRegressionGate(metric="rmse", tolerance=0.0, n_resamples=300)
    better = gate.evaluate(_regression_context(seed, candidate_noise=1.0, baseline_noise=1.5))
    assert better.status is Status.PASSED
    assert "improvement +0." in better.message and "(lower is better)" in better.message
    worse = gate.evaluate(_regression_context(seed, candidate_noise=1.5, baseline_noise=1.0))
    assert worse.status is Status.FAILED and worse.reason is Reason.REGRESSION
    assert worse.evidence["observed_difference"] > 0 > worse.evidence["oriented_difference"]


def test_no_production_model_skips(make_context):
    result = NoRegressionGate(metric="roc_auc").evaluate(make_context(baseline=None))
    assert result.status is Status.SKIPPED and result.reason is Reason.NO_BASELINE
    assert "no production model yet" in result.message
    assert not result.blocking


def test_a_baseline_without_scores_is_inconclusive(make_context):
    ctx = make_context()
    labels_only = ModelOutputs(ctx.baseline.y_pred, None, (0, 1))
    ctx = GateContext(
        task=ctx.task, y_true=ctx.y_true, candidate=ctx.candidate, baseline=labels_only, metrics={}
    )
    result = NoRegressionGate(metric="roc_auc").evaluate(ctx)
    assert result.status is Status.FAILED and result.reason is Reason.INCONCLUSIVE
    assert "could not be compared" in result.message


def test_the_same_context_gives_the_same_verdict(make_context):
    ctx = make_context(seed=3, candidate=1.4)
    gate = NoRegressionGate(metric="average_precision", n_resamples=300)
    assert gate.evaluate(ctx) == gate.evaluate(ctx)


@pytest.mark.parametrize(
    ("params", "accepts", "got"),
    [
        ({"tolerance": 5}, "a float in [0, 1]", "5"),
        ({"confidence": 1.0}, "a float in (0.5, 1)", "1.0"),
        ({"n_resamples": 50}, "an int in [100, inf)", "50"),
        ({"metric": 3}, "a string or None", "3"),
    ],
)
def test_bad_options_are_named_with_what_they_accept(params, accepts, got):
    with pytest.raises(ConfigError) as info:
        NoRegressionGate.from_params({"metric": "roc_auc", **params})
    option = next(iter(params))
    assert str(info.value) == (
        f"The '{option}' option of gate 'no_regression' must be {accepts}. Got {got} instead."
    )


def test_an_unknown_metric_is_a_config_error(make_context):
    with pytest.raises(ConfigError, match="unknown metric 'roc_acu'.*Did you mean 'roc_auc'"):
        NoRegressionGate(metric="roc_acu").evaluate(make_context())


def test_params_are_stored_unchanged_and_shown_in_repr():
    gate = NoRegressionGate(metric="roc_auc", tolerance=0.005)
    assert gate.get_params() == {
        "metric": "roc_auc",
        "metrics": None,
        "tolerance": 0.005,
        "confidence": 0.95,
        "n_resamples": 1000,
        "mode": "non_inferiority",
        "margin": 0.0,
        "method": "auto",
        "slices": False,
        "alpha": None,
        "correction": "holm",
        "min_power": 0.8,
        "on_underpowered": "fail",
    }
    assert repr(gate) == "NoRegressionGate(metric='roc_auc', tolerance=0.005)"
