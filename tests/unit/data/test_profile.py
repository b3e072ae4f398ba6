"""Reference profiles: what they hold, their JSON round trip, their size, and the score they keep."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shipyard.data.profile import (
    N_QUANTILES,
    SCHEMA_VERSION,
    Profile,
    build_profile,
    prediction_scores,
    sorted_quantiles,
)
from shipyard.errors import ConfigError
from shipyard.evaluation.outputs import ModelOutputs


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 2000
    amount = rng.gamma(2.0, 50.0, n)
    amount[:100] = np.nan
    return pd.DataFrame(
        {
            "amount": amount,
            "age": pd.array(rng.integers(18, 90, n), dtype="Int64"),
            "country": rng.choice(["fr", "de", "us"], n),
            "flag": rng.random(n) < 0.2,
            "kind": pd.Categorical(rng.choice(["x", "y"], n)),
            "created": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s"),
        }
    )


def test_columns_are_profiled_by_kind(frame: pd.DataFrame) -> None:
    profile = build_profile(frame, exclude=("flag",))
    kinds = {name: column.kind for name, column in profile.columns.items()}
    assert kinds == {
        "amount": "numeric",
        "age": "numeric",
        "country": "categorical",
        "kind": "categorical",
        "created": "datetime",  # profiled on seconds since the epoch
    }
    assert profile.columns["created"].min == frame["created"].min().tz_localize("UTC").timestamp()
    assert profile.skipped == {}
    assert profile.rows == len(frame)
    nested = build_profile(pd.DataFrame({"tags": [[1, 2], [3]]}))
    assert list(nested.skipped) == ["tags"]


def test_numeric_profile_holds_exact_moments_quantiles_and_bins(frame: pd.DataFrame) -> None:
    amount = build_profile(frame).columns["amount"]
    values = frame["amount"].dropna().to_numpy()
    assert (amount.count, amount.nulls) == (1900, 100)
    assert amount.mean == pytest.approx(values.mean(), rel=1e-12)
    assert amount.std == pytest.approx(values.std(), rel=1e-12)
    assert len(amount.quantiles) == N_QUANTILES
    expected = np.quantile(values, np.linspace(0, 1, N_QUANTILES))
    np.testing.assert_allclose(amount.quantiles, expected, rtol=1e-11)
    assert sum(amount.bin_counts) == sum(amount.hist_counts) == 1900
    assert len(amount.bin_counts) == len(amount.bin_edges) + 1 == 10
    # decile bins hold about a tenth each
    assert max(amount.bin_counts) - min(amount.bin_counts) <= 2


def test_sorted_quantiles_equal_numpy() -> None:
    values = np.sort(np.random.default_rng(1).normal(size=101))
    probs = np.linspace(0, 1, 37)
    np.testing.assert_allclose(sorted_quantiles(values, probs), np.quantile(values, probs), rtol=1e-14)


def test_categorical_profile_counts_categories_and_nulls(frame: pd.DataFrame) -> None:
    with_nulls = frame.assign(country=frame["country"].where(np.arange(len(frame)) % 10 != 0))
    country = build_profile(with_nulls).columns["country"]
    assert country.nulls == 200
    assert country.counts == with_nulls["country"].value_counts().to_dict()
    assert build_profile(frame).columns["flag"].counts.keys() == {"True", "False"}


def test_rare_categories_are_pooled_as_other() -> None:
    from shipyard.data.profile import categorical_profile

    profile = categorical_profile({"a": 5, "b": 3, "c": 1, "d": 1}, 0, max_categories=2)
    assert profile.counts == {"a": 5, "b": 3}
    assert (profile.other, profile.count) == (2, 10)


def test_json_round_trip_and_version_check(frame: pd.DataFrame) -> None:
    profile = build_profile(frame, scores=np.linspace(0, 1, len(frame)))
    again = Profile.from_json(profile.to_json())
    assert again == profile
    data = json.loads(profile.to_json())
    assert data["schema_version"] == SCHEMA_VERSION
    data["schema_version"] = 99
    with pytest.raises(ConfigError, match="schema_version 99"):
        Profile.from_dict(data)


def test_profile_of_25_columns_stays_small() -> None:
    rng = np.random.default_rng(2)
    n = 100_000
    columns = {f"x{i}": rng.normal(i, 1 + i, n) for i in range(20)}
    columns |= {f"c{i}": rng.choice([f"v{j}" for j in range(30)], n) for i in range(5)}
    size = len(build_profile(pd.DataFrame(columns), scores=rng.random(n)).to_json())
    assert size < 200_000


def test_all_null_and_constant_columns() -> None:
    profile = build_profile(pd.DataFrame({"empty": [np.nan] * 5, "const": [3.0] * 5}))
    assert (profile.columns["empty"].count, profile.columns["empty"].nulls) == (0, 5)
    const = profile.columns["const"]
    assert const.std == 0.0 and set(const.quantiles) == {3.0}
    assert const.bin_counts == [5, 0] and const.hist_counts == [5]


def test_prediction_scores_follow_the_log_contract() -> None:
    proba = np.array([[0.9, 0.1], [0.2, 0.8]])
    binary = ModelOutputs(np.array([0, 1]), proba, (0, 1))
    np.testing.assert_allclose(prediction_scores(binary), [0.1, 0.8])
    multi = ModelOutputs(np.array([0, 2]), np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]]), (0, 1, 2))
    np.testing.assert_allclose(prediction_scores(multi), [0.5, 0.7])
    np.testing.assert_allclose(prediction_scores(ModelOutputs(np.array([1.5, 2.5]))), [1.5, 2.5])


def test_columns_arrow_cannot_type_are_skipped_not_fatal() -> None:
    frame = pd.DataFrame({"mixed": [1, "a", 2.5], "x": [1.0, 2.0, 3.0]})
    profile = build_profile(frame)
    assert list(profile.columns) == ["x"]
    assert profile.skipped["mixed"].startswith("unsupported values")
    assert build_profile(pa.table({"x": [1.0, 2.0]})).rows == 2
