"""Verdicts on synthetic data with known shifts, the edge cases, and per-feature configuration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shipyard.config.policy import DriftThresholds, MonitoringConfig
from shipyard.core.results import Reason, Status
from shipyard.data.profile import PREDICTION, build_profile
from shipyard.monitoring.engine import detect_drift
from shipyard.monitoring.verdicts import thresholds_for

SEEDS = range(20)
_DATASET = MonitoringConfig(fail_on="dataset")


def _frame(
    rng: np.random.Generator, n: int, *, shift: float = 0.0, new_category: float = 0.0
) -> pd.DataFrame:
    cats = rng.choice(["a", "b", "c"], n).astype(object)
    cats[rng.random(n) < new_category] = "new"
    columns = {f"x{i}": rng.normal(shift if i == 0 else 0.0, 1.0, n) for i in range(8)}
    return pd.DataFrame({**columns, "g": rng.gamma(2.0, 2.0, n), "cat": cats})


@pytest.mark.parametrize("path", ["exact", "profile"])
def test_no_shift_flags_nothing_over_many_seeds(path: str) -> None:
    # The stated rate: with effect-size thresholds and >= 1,000 rows a side, a stable column is
    # essentially never flagged (PSI ~ 0.005, normalised Wasserstein ~ 0.04 here). 20 seeds x 10.
    flagged = 0
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        ref, cur = _frame(rng, 2000), _frame(rng, 2000)
        report = detect_drift(ref if path == "exact" else build_profile(ref), cur)
        flagged += len(report.drifted)
        assert not report.dataset_drift
        assert report.to_report().passed
    assert flagged == 0


@pytest.mark.parametrize("seed", list(SEEDS)[:5])
def test_a_shifted_column_is_flagged_and_only_it(seed: int) -> None:
    rng = np.random.default_rng(seed)
    report = detect_drift(build_profile(_frame(rng, 2000)), _frame(rng, 2000, shift=0.5))
    assert [f.name for f in report.drifted] == ["x0"]
    (result,) = [r for r in report.to_report().results if r.subject == "x0"]
    assert result.reason is Reason.FEATURE_DRIFT and result.status is Status.FAILED
    assert "wasserstein" in result.message
    assert "FDR-adjusted p" in result.message
    # one drifted column fails the check (exit 1) by default, and only warns with fail_on: dataset
    assert not report.dataset_drift and not report.to_report().passed
    assert result.severity == "fail"
    lenient = detect_drift(build_profile(_frame(rng, 2000)), _frame(rng, 2000, shift=0.5), _DATASET)
    assert [f.name for f in lenient.drifted] == ["x0"] and lenient.to_report().passed


@pytest.mark.parametrize("seed", list(SEEDS)[:5])
def test_a_new_category_is_flagged(seed: int) -> None:
    rng = np.random.default_rng(seed)
    report = detect_drift(_frame(rng, 2000), _frame(rng, 2000, new_category=0.03))
    (cat,) = [f for f in report.features if f.name == "cat"]
    assert cat.drifted and any(t.startswith("unseen_share") for t in cat.triggered)
    assert cat.results["unseen_share"].detail["unseen"].keys() == {"new"}


def test_dataset_drift_blocks_when_enough_columns_drift() -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"a": rng.normal(size=500), "b": rng.normal(size=500)})
    cur = ref + 3.0
    report = detect_drift(ref, cur, MonitoringConfig(drift_share=0.5, fail_on="dataset"))
    assert report.dataset_drift
    checks = report.to_report()
    assert not checks.passed
    assert [r.reason for r in checks.failures] == [Reason.DATASET_DRIFT]


def test_empty_window_skips_every_column() -> None:
    ref = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]})
    for reference in (ref, build_profile(ref)):
        report = detect_drift(reference, ref.iloc[:0])
        assert report.empty and report.current_rows == 0
        assert {f.status for f in report.features} == {"empty"}
        assert report.to_report().passed and not report.dataset_drift


def test_missing_all_null_constant_and_retyped_columns() -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame(
        {
            "gone": rng.normal(size=300),
            "nulls": rng.normal(size=300),
            "const": np.full(300, 2.0),
            "t": ["a"] * 300,
        }
    )
    cur = pd.DataFrame({"nulls": np.full(300, np.nan), "const": np.full(300, 2.0), "t": np.arange(300.0)})
    for reference in (ref, build_profile(ref)):
        features = {f.name: f for f in detect_drift(reference, cur).features}
        assert features["gone"].status == "missing"
        assert features["t"].status == "type_changed"
        nulls = features["nulls"]
        assert nulls.drifted and nulls.triggered == ["null_share 1 >= 0.1"]
        assert "ks" not in nulls.results  # nothing to compare the distribution on
        const = features["const"]
        assert not const.drifted and const.results["wasserstein"].statistic == 0.0
        reasons = {r.subject: r.reason for r in detect_drift(reference, cur).to_report().results}
        assert reasons["gone"] is Reason.MISSING_COLUMN and reasons["t"] is Reason.WRONG_DTYPE
        assert reasons["nulls"] is Reason.NULL_SHARE_INCREASE


def test_constant_reference_and_moved_constant() -> None:
    ref = pd.DataFrame({"k": np.full(200, 1.0)})
    feature = detect_drift(build_profile(ref), pd.DataFrame({"k": np.full(200, 1.5)})).features[0]
    assert feature.drifted and np.isfinite(feature.results["wasserstein"].statistic)


def test_per_feature_thresholds_override_only_what_they_set() -> None:
    config = MonitoringConfig(features={"x0": DriftThresholds(wasserstein=0.9, severity="fail")})
    merged = thresholds_for(config, "x0")
    assert (merged.wasserstein, merged.psi, merged.severity) == (0.9, 0.2, "fail")
    assert thresholds_for(config, PREDICTION).severity == "fail"
    rng = np.random.default_rng(3)
    ref, cur = _frame(rng, 2000), _frame(rng, 2000, shift=0.5)
    report = detect_drift(ref, cur, config)
    (x0,) = [f for f in report.features if f.name == "x0"]
    assert x0.drifted and x0.triggered[0].startswith("psi")  # wasserstein 0.5 < 0.9, PSI still fires
    assert not report.to_report().passed  # severity fail blocks on its own


def test_ignored_columns_and_p_value_verdicts() -> None:
    rng = np.random.default_rng(4)
    ref, cur = _frame(rng, 5000), _frame(rng, 5000, shift=0.08)
    quiet = detect_drift(ref, cur)
    assert "x0" not in [f.name for f in quiet.drifted]  # a small shift: below every effect size
    loud = MonitoringConfig(thresholds=DriftThresholds(use_p_value=True), features={"cat": {"ignore": True}})
    report = detect_drift(ref, cur, loud)
    assert "x0" in [f.name for f in report.drifted]
    assert [f.status for f in report.features if f.name == "cat"] == ["ignored"]


def test_prediction_score_drift_fails_by_default() -> None:
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"x": rng.normal(size=1000)})
    profile = build_profile(ref, scores=rng.beta(2, 5, 1000))
    cur = pd.DataFrame({"x": rng.normal(size=1000), PREDICTION: rng.beta(5, 2, 1000)})
    report = detect_drift(profile, cur)
    checks = report.to_report()
    assert [r.reason for r in checks.failures] == [Reason.PREDICTION_DRIFT]
    assert report.summary()["prediction_drift"]
    # a current file without scores simply has no prediction to compare
    assert [f.name for f in detect_drift(profile, cur[["x"]]).features] == ["x"]


def test_exclude_leaves_out_the_target() -> None:
    ref = pd.DataFrame({"x": [1.0, 2.0], "label": [0, 1]})
    assert [f.name for f in detect_drift(ref, ref, exclude=("label",)).features] == ["x"]
