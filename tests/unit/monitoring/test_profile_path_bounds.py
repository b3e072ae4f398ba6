"""The profile path against the exact path: KS within its documented bound, the rest equal or close."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shipyard.data.profile import N_QUANTILES, build_profile
from shipyard.monitoring.engine import detect_drift

SEEDS = range(8)


@pytest.fixture(scope="module", params=SEEDS)
def both(request: pytest.FixtureRequest) -> tuple[dict, dict, int]:
    seed = request.param
    rng = np.random.default_rng(seed)
    n = 4000
    ref = pd.DataFrame(
        {
            "normal": rng.normal(size=n),
            "gamma": rng.gamma(2.0, 3.0, n),
            "ties": rng.integers(0, 8, n).astype(float),
            "cat": rng.choice(list("abc"), n),
        }
    )
    shift = 0.05 * seed
    cur = pd.DataFrame(
        {
            "normal": rng.normal(shift, 1.0, n),
            "gamma": rng.gamma(2.0, 3.0 + shift, n),
            "ties": rng.integers(0, 8, n).astype(float) + (rng.random(n) < shift),
            "cat": rng.choice(list("abcd"), n, p=[0.3, 0.3, 0.3, 0.1]),
        }
    )
    exact = {f.name: f for f in detect_drift(ref, cur).features}
    profiled = {f.name: f for f in detect_drift(build_profile(ref), cur, batch_rows=1000).features}
    return exact, profiled, n


@pytest.mark.parametrize("column", ["normal", "gamma", "ties"])
def test_profile_ks_is_within_its_bound(both: tuple, column: str) -> None:
    exact, profiled, n = both
    bound = 1 / (N_QUANTILES - 1) + 1 / n
    approx = profiled[column].results["ks"]
    assert not approx.exact
    assert abs(approx.statistic - exact[column].results["ks"].statistic) <= bound


@pytest.mark.parametrize("column", ["normal", "gamma"])
def test_profile_wasserstein_is_close_for_continuous_data(both: tuple, column: str) -> None:
    exact, profiled, _ = both
    approx = profiled[column].results["wasserstein"].statistic
    assert approx == pytest.approx(exact[column].results["wasserstein"].statistic, rel=0.1, abs=0.01)


@pytest.mark.parametrize("column", ["normal", "gamma", "ties"])
def test_binned_statistics_are_the_same_on_both_paths(both: tuple, column: str) -> None:
    exact, profiled, _ = both
    for test in ("psi", "js", "null_share"):
        assert profiled[column].results[test].statistic == pytest.approx(
            exact[column].results[test].statistic, rel=1e-9, abs=1e-12
        )


def test_categorical_statistics_are_exact_on_both_paths(both: tuple) -> None:
    exact, profiled, _ = both
    for test in ("chi2", "psi", "js", "unseen_share"):
        assert profiled["cat"].results[test].statistic == pytest.approx(
            exact["cat"].results[test].statistic, rel=1e-12
        )


def test_chunked_summaries_equal_one_chunk() -> None:
    rng = np.random.default_rng(0)
    ref, cur = pd.DataFrame({"x": rng.normal(size=3000)}), pd.DataFrame({"x": rng.normal(0.2, 1, 5000)})
    profile = build_profile(ref)
    whole = detect_drift(profile, cur).features[0].results
    chunked = detect_drift(profile, cur, batch_rows=333, workers=2).features[0].results
    for test in whole:
        assert chunked[test].statistic == pytest.approx(whole[test].statistic, rel=1e-9, abs=1e-12)
