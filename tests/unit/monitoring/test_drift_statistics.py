"""The exact path agrees with scipy to 1e-9: KS, Wasserstein, chi-squared, Jensen-Shannon, BH."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from shipyard.data.profile import build_profile
from shipyard.monitoring.base import psi
from shipyard.monitoring.categorical import ChiSquared, UnseenShare
from shipyard.monitoring.engine import detect_drift
from shipyard.monitoring.verdicts import benjamini_hochberg

SEEDS = range(6)


def _pair(seed: int, n_ref: int = 3000, n_cur: int = 2000) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame(
        {
            "normal": rng.normal(size=n_ref),
            "ties": rng.integers(0, 12, n_ref).astype(float),  # many equal values
            "gamma": rng.gamma(2.0, 3.0, n_ref),
            "cat": rng.choice(["a", "b", "c", "d"], n_ref, p=[0.4, 0.3, 0.2, 0.1]),
        }
    )
    cur = pd.DataFrame(
        {
            "normal": rng.normal(0.1 * seed, 1.0 + 0.05 * seed, n_cur),
            "ties": rng.integers(0, 12 + seed, n_cur).astype(float),
            "gamma": rng.gamma(2.0, 3.0, n_cur),
            "cat": rng.choice(["a", "b", "c", "e"], n_cur, p=[0.3, 0.3, 0.3, 0.1]),
        }
    )
    return ref, cur


@pytest.fixture(scope="module", params=SEEDS)
def pair(request: pytest.FixtureRequest) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    ref, cur = _pair(request.param)
    report = detect_drift(ref, cur)
    return ref, cur, {f.name: f for f in report.features}


@pytest.mark.parametrize("column", ["normal", "ties", "gamma"])
def test_ks_and_wasserstein_equal_scipy(pair: tuple, column: str) -> None:
    ref, cur, features = pair
    result = features[column].results
    expected = stats.ks_2samp(ref[column], cur[column], method="asymp")
    assert result["ks"].exact
    assert result["ks"].statistic == pytest.approx(expected.statistic, abs=1e-9)
    assert result["ks"].p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    distance = stats.wasserstein_distance(ref[column], cur[column])
    assert result["wasserstein"].detail["distance"] == pytest.approx(distance, rel=1e-9, abs=1e-12)
    assert result["wasserstein"].statistic == pytest.approx(distance / ref[column].std(ddof=0), rel=1e-9)


@pytest.mark.parametrize("column", ["normal", "ties", "gamma"])
def test_psi_and_js_on_reference_deciles(pair: tuple, column: str) -> None:
    ref, cur, features = pair
    edges = np.asarray(build_profile(ref[[column]]).columns[column].bin_edges)
    bins = np.concatenate([[-np.inf], edges, [np.inf]])
    ref_p = np.histogram(ref[column], bins)[0] / len(ref)
    cur_p = np.histogram(cur[column], bins)[0] / len(cur)
    if column != "ties":  # np.histogram bins are [a, b); ours (a, b]: equal only without ties at edges
        assert features[column].results["psi"].statistic == pytest.approx(psi(ref_p, cur_p), rel=1e-9)
        assert features[column].results["js"].statistic == pytest.approx(
            jensenshannon(ref_p, cur_p), rel=1e-9
        )


def test_chi_squared_equals_scipy_contingency(pair: tuple) -> None:
    ref, cur, features = pair
    table = pd.crosstab(
        np.r_[np.zeros(len(ref)), np.ones(len(cur))], np.r_[ref["cat"].to_numpy(), cur["cat"].to_numpy()]
    )
    expected = stats.chi2_contingency(table.to_numpy(), correction=False)
    result = features["cat"].results["chi2"]
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    assert result.detail["dof"] == expected.dof


def test_categorical_js_equals_scipy(pair: tuple) -> None:
    ref, cur, features = pair
    names = sorted(set(ref["cat"]) | set(cur["cat"]))
    p = ref["cat"].value_counts().reindex(names, fill_value=0).to_numpy(float)
    q = cur["cat"].value_counts().reindex(names, fill_value=0).to_numpy(float)
    assert features["cat"].results["js"].statistic == pytest.approx(jensenshannon(p, q), rel=1e-9)


def test_unseen_share_counts_new_categories(pair: tuple) -> None:
    _, cur, features = pair
    result = features["cat"].results["unseen_share"]
    assert result.statistic == pytest.approx((cur["cat"] == "e").mean(), abs=1e-12)
    assert result.detail["unseen"] == {"e": int((cur["cat"] == "e").sum())}


def test_chi_squared_with_one_category_is_no_evidence() -> None:
    ref = build_profile(pd.DataFrame({"c": ["a"] * 10})).columns["c"]
    from shipyard.monitoring.categorical import CategoricalSummary

    result = ChiSquared().compare(ref, CategoricalSummary().update({"a": 5}))
    assert (result.statistic, result.p_value) == (0.0, 1.0)
    assert UnseenShare().compare(ref, CategoricalSummary()).statistic == 0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_benjamini_hochberg_equals_scipy(seed: int) -> None:
    p = np.random.default_rng(seed).random(30) ** 3
    assert benjamini_hochberg(list(p)) == pytest.approx(
        stats.false_discovery_control(p, method="bh"), rel=1e-12
    )
    assert benjamini_hochberg([]) == []


@pytest.mark.parametrize("n", [30_000, 400_000])
@pytest.mark.parametrize("statistic", [0.001, 0.005, 0.01, 0.05])
def test_large_sample_ks_p_value_is_close_to_scipy(n: int, statistic: float) -> None:
    from shipyard.monitoring.numeric import ks_p_value

    expected = stats.distributions.kstwo.sf(statistic, n // 2)
    assert ks_p_value(statistic, n, n) == pytest.approx(expected, abs=2e-3, rel=0.06)
