"""Dates stored as text are compared as dates (seconds since the epoch), never as unseen categories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shipyard.data.profile import CategoricalProfile, Profile, build_profile, categorical_profile
from shipyard.monitoring.engine import detect_drift


def _dates(rng: np.random.Generator, n: int, start: str = "2026-01-01", days: int = 90) -> pd.Series:
    offsets = pd.to_timedelta(rng.integers(0, days * 86_400, n), unit="s")
    return pd.Series(pd.Timestamp(start) + offsets)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("as_text", [True, False])
def test_text_dates_from_the_same_period_do_not_drift(seed: int, as_text: bool) -> None:
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"when": _dates(rng, 2000).dt.strftime("%Y-%m-%dT%H:%M:%S")})
    cur = pd.DataFrame({"when": _dates(rng, 2000)})  # every value new: as text, all "unseen"
    if as_text:
        cur["when"] = cur["when"].dt.strftime("%Y-%m-%d %H:%M:%S")
    profile = build_profile(ref)
    assert profile.columns["when"].kind == "datetime" and "when" not in profile.skipped
    for reference in (profile, ref):
        (feature,) = detect_drift(reference, cur).features
        assert feature.kind == "datetime" and feature.status == "tested"
        assert "unseen_share" not in feature.results and not feature.drifted


@pytest.mark.parametrize("seed", range(3))
def test_text_dates_from_a_later_period_drift_on_time(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"day": _dates(rng, 1000).dt.strftime("%Y-%m-%d")})
    cur = pd.DataFrame({"day": _dates(rng, 1000, start="2026-03-01").dt.strftime("%Y-%m-%d")})
    (feature,) = detect_drift(build_profile(ref), cur).features
    assert feature.drifted and feature.triggered[0].startswith(("psi", "wasserstein"))


def test_a_profile_that_stored_dates_as_categories_compares_them_as_dates() -> None:
    rng = np.random.default_rng(0)
    days = _dates(rng, 3000).dt.strftime("%Y-%m-%d")
    old = Profile(rows=3000, columns={"day": categorical_profile(days.value_counts().to_dict(), 0)})
    assert isinstance(old.columns["day"], CategoricalProfile)
    cur = pd.DataFrame({"day": _dates(rng, 3000).dt.strftime("%Y-%m-%d")})
    (feature,) = detect_drift(old, cur).features
    assert feature.kind == "datetime" and not feature.drifted


def test_text_that_is_not_iso_dates_stays_categorical() -> None:
    ref = pd.DataFrame({"week": ["2026-W01-1", "2026-W02-1"] * 100, "mixed": ["2026-01-01", "soon"] * 100})
    profile = build_profile(ref)
    assert {c.kind for c in profile.columns.values()} == {"categorical"}
