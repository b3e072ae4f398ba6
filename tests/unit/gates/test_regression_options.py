"""`no_regression` options: several metrics, slices, superiority, the power check, Holm."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from shipyard.config.policy import GateConfig
from shipyard.core.results import Reason, Severity, Status
from shipyard.errors import ConfigError
from shipyard.gates import GateContext, NoRegressionGate
from shipyard.gates.catalog import build_gates

ROW_KEYS = {
    "metric", "slice", "rows", "candidate", "baseline", "difference", "oriented_difference", "std_error",
    "ci_low", "ci_high", "lower_bound", "upper_bound", "confidence", "null", "test", "p_value",
    "p_adjusted", "power", "n_required", "verdict", "note",
}  # fmt: skip


def _with_rows(ctx: GateContext) -> GateContext:
    n = len(ctx.y_true)
    rows = pd.DataFrame({"device": np.where(np.arange(n) % 3 == 0, "mobile", "desktop"), "label": ctx.y_true})
    return GateContext(
        ctx.task, ctx.y_true, ctx.candidate, {}, baseline=ctx.baseline, rows=rows, slices={"device": {}}
    )


def test_several_metrics_and_slices_give_one_result_with_a_row_per_comparison(make_context):
    ctx = _with_rows(make_context(seed=1, n=3000))
    gate = NoRegressionGate(metrics=["roc_auc", "accuracy", "log_loss"], slices=True, tolerance=0.05)
    result = gate.evaluate(ctx)
    rows = result.evidence["comparisons"]
    assert [(r["metric"], r["slice"]) for r in rows[:3]] == [
        ("roc_auc", "overall"),
        ("roc_auc", "device=desktop"),
        ("roc_auc", "device=mobile"),
    ]
    assert len(rows) == 9 and all(set(r) == ROW_KEYS for r in rows)
    assert {r["test"] for r in rows} == {"delong", "mcnemar_score", "bootstrap"}
    assert all(r["p_adjusted"] >= r["p_value"] for r in rows)
    assert result.status is Status.PASSED, result.message
    assert result.message.startswith("all 9 comparisons passed; closest: ")
    assert "Holm-adjusted" in result.message and result.subject == "roc_auc, accuracy, log_loss"
    # a lower-is-better metric: the row's difference is candidate - production, its CI likewise
    log_loss = next(r for r in rows if r["metric"] == "log_loss" and r["slice"] == "overall")
    assert log_loss["difference"] == pytest.approx(log_loss["candidate"] - log_loss["baseline"])
    assert log_loss["ci_low"] <= log_loss["difference"] <= log_loss["ci_high"]


def test_slices_need_the_rows_and_say_so():
    assert NoRegressionGate(metric="roc_auc").required_context() == frozenset()
    assert NoRegressionGate(metric="roc_auc", slices=["device"]).required_context() == {"rows"}


def test_an_unknown_slice_column_is_named(make_context):
    ctx = _with_rows(make_context())
    with pytest.raises(ConfigError, match="slices: column 'country' is not in the test data"):
        NoRegressionGate(metric="roc_auc", slices=["country"]).evaluate(ctx)


def test_superiority_needs_a_significant_gain(make_context, seed):
    gate = NoRegressionGate(metric="roc_auc", mode="superiority", margin=0.0)
    better = gate.evaluate(make_context(seed=seed, n=3000, candidate=2.0, baseline=1.5))
    assert better.status is Status.PASSED and "superior by more than 0 (margin) -> PASS" in better.message
    same = gate.evaluate(make_context(seed=seed, n=3000, candidate=1.5, baseline=1.5))
    assert same.status is Status.FAILED and same.reason in (Reason.NOT_SUPERIOR, Reason.UNDERPOWERED)


def test_a_small_test_split_is_underpowered_and_names_the_size_needed(make_context):
    ctx = make_context(seed=0, n=300, candidate=1.5, baseline=1.5)
    result = NoRegressionGate(metric="roc_auc", tolerance=0.01).evaluate(ctx)
    assert result.status is Status.FAILED and result.reason is Reason.UNDERPOWERED
    assert result.severity is Severity.FAIL
    needed = result.evidence["n_required"]
    assert needed > 300 and result.evidence["power"] < 0.8
    assert f"needs about {needed:,} test rows -> UNDERPOWERED, FAIL" in result.message
    warned = NoRegressionGate(metric="roc_auc", on_underpowered="warn").evaluate(ctx)
    assert warned.severity is Severity.WARN and not warned.blocking
    assert warned.message.endswith("-> UNDERPOWERED, WARN")


def test_the_size_needed_is_enough(make_context):
    small = make_context(seed=0, n=400, candidate=1.5, baseline=1.5)
    needed = NoRegressionGate(metric="roc_auc", tolerance=0.03).evaluate(small).evidence["n_required"]
    large = make_context(seed=0, n=needed, candidate=1.5, baseline=1.5)
    power = NoRegressionGate(metric="roc_auc", tolerance=0.03).evaluate(large).evidence["power"]
    assert power == pytest.approx(0.8, abs=0.1)


def test_a_clear_regression_is_not_called_underpowered(make_context):
    ctx = make_context(seed=0, n=300, candidate=0.5, baseline=2.0)
    result = NoRegressionGate(metric="roc_auc", tolerance=0.01).evaluate(ctx)
    assert result.reason is Reason.REGRESSION


def test_alpha_overrides_one_minus_confidence(make_context):
    ctx = make_context(seed=0, n=2000)
    result = NoRegressionGate(metric="roc_auc", alpha=0.01, tolerance=0.05).evaluate(ctx)
    assert result.evidence["alpha"] == 0.01 and "vs alpha 0.01" in result.message
    assert result.evidence["comparisons"][0]["confidence"] == pytest.approx(0.98)


def test_an_undefined_slice_is_reported_and_does_not_decide(make_context):
    ctx = make_context(seed=0, n=2000, candidate=1.5, baseline=1.5)
    tiny = np.full(2000, "big", dtype=object)
    tiny[np.flatnonzero(ctx.y_true == 0)[:3]] = "tiny"  # one class only: AUC undefined
    rows = pd.DataFrame({"group": tiny})
    ctx = GateContext(ctx.task, ctx.y_true, ctx.candidate, {}, baseline=ctx.baseline, rows=rows)
    result = NoRegressionGate(metric="roc_auc", tolerance=0.1, slices=["group"]).evaluate(ctx)
    verdicts = {r["slice"]: r["verdict"] for r in result.evidence["comparisons"]}
    assert verdicts == {"overall": "pass", "group=big": "pass", "group=tiny": "undefined"}
    assert result.status is Status.PASSED and math.isnan(result.evidence["comparisons"][2]["p_adjusted"])
    assert result.message.startswith("all 2 comparisons passed (1 undefined); closest: ")


def _build(params: dict) -> NoRegressionGate:
    [(_, gate)] = build_gates(
        [GateConfig.model_validate({"type": "no_regression", **params})], task="classification"
    )
    return gate


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {},
            r"gates\[0\]: gate 'no_regression' needs the option 'metric' \(one name\) or 'metrics'",
        ),
        ({"metric": "roc_auc", "metrics": ["f1"]}, "not both"),
        ({"metrics": []}, "The 'metrics' option of gate 'no_regression' must be a non-empty list"),
        ({"metrics": ["roc_auc", "roc_acu"]}, r"gates\[0\]\.metrics: unknown metric 'roc_acu'"),
        ({"metric": "f1", "method": "delong"}, "The 'delong' test applies to roc_auc only, not 'f1'"),
        ({"metric": "f1", "mode": "better"}, "The 'mode' option of gate 'no_regression' must be one of"),
        ({"metric": "f1", "slices": "device"}, "must be true, false or a list of column names"),
        (
            {"metric": "f1", "alpha": 0.7},
            r"'alpha' option of gate 'no_regression' must be a float in \(0, 0.5\)",
        ),
    ],
)
def test_bad_new_options_are_config_errors(params, message):
    with pytest.raises(ConfigError, match=message):
        _build(params)


def test_the_old_yaml_still_builds():
    gate = _build({"metric": "roc_auc", "tolerance": 0.01, "confidence": 0.95, "n_resamples": 1000})
    assert repr(gate) == "NoRegressionGate(metric='roc_auc')"
