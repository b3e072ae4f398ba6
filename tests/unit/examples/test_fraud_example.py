"""The fraud example: generator, drift knobs, row-wise features, model quality, corrupted batch."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from shipyard.config import load_policy

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "fraud"
MODULES = ("generate", "corrupt", "fraud_model", "fraud_model.features", "fraud_model.train")
SEEDS = [0, 1, 2, 3, 4]


@pytest.fixture(scope="module")
def ex():
    """The example's modules, imported from examples/fraud (not installed), forgotten afterwards.

    OpenMP is held to one thread: on a shared 2-core runner, training with a thread
    per core stalls for seconds whenever another process takes a core.
    """
    sys.path.insert(0, str(EXAMPLE))
    try:
        mods = {name: importlib.import_module(name) for name in MODULES}
        with threadpool_limits(limits=1, user_api="openmp"):
            yield SimpleNamespace(
                generate=mods["generate"],
                corrupt=mods["corrupt"],
                features=mods["fraud_model.features"],
                train=mods["fraud_model.train"],
            )
    finally:
        sys.path.remove(str(EXAMPLE))
        for name in MODULES:
            sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def policy():
    return load_policy(EXAMPLE / "shipyard.yaml")


def _rate(frame: pd.DataFrame, mask: pd.Series) -> float:
    return float(frame.loc[mask, "is_fraud"].mean())


def test_same_seed_gives_identical_frame_and_another_seed_does_not(ex):
    first = ex.generate.generate(2000, seed=3, drift={"category": 0.1})
    pd.testing.assert_frame_equal(first, ex.generate.generate(2000, seed=3, drift={"category": 0.1}))
    assert not first.equals(ex.generate.generate(2000, seed=4, drift={"category": 0.1}))


def test_committed_sample_is_reproducible_from_the_generator(ex):
    sample = pd.read_parquet(EXAMPLE / "data" / "sample.parquet")
    pd.testing.assert_frame_equal(sample, ex.generate.generate(1000, seed=7))


def test_columns_dtypes_and_ranges(ex):
    frame = ex.generate.generate(3000, seed=0, start="2026-03-01", days=7)
    assert list(frame.columns) == [
        "transaction_id",
        "timestamp",
        "amount",
        "merchant_category",
        "account_age_days",
        "country",
        "device",
        "customer_group",
        "is_fraud",
    ]
    assert frame["transaction_id"].is_unique and frame["transaction_id"].dtype == np.int64
    assert pd.api.types.is_datetime64_any_dtype(frame["timestamp"])
    assert frame["timestamp"].is_monotonic_increasing
    assert frame["timestamp"].min() >= pd.Timestamp("2026-03-01")
    assert frame["timestamp"].max() < pd.Timestamp("2026-03-08")
    assert frame["timestamp"].dt.normalize().nunique() == 7
    assert (frame["amount"] > 0).all() and frame["amount"].dtype == np.float64
    assert set(frame["merchant_category"]) == set(ex.generate.CATEGORIES)
    assert (frame["account_age_days"] >= 0).all() and frame["account_age_days"].dtype == np.int64
    assert set(frame["device"]) == {"mobile", "desktop", "tablet"}
    assert set(frame["customer_group"]) == {"A", "B", "C"}
    assert frame["country"].value_counts(normalize=True).iloc[0] > 0.7
    assert set(frame["is_fraud"]) == {0, 1}
    for column in ("merchant_category", "country", "device", "customer_group"):
        assert pd.api.types.is_string_dtype(frame[column])


@pytest.mark.parametrize("seed", SEEDS)
def test_fraud_prevalence_is_between_2_and_4_percent(ex, seed):
    assert 0.02 <= ex.generate.generate(20_000, seed=seed)["is_fraud"].mean() <= 0.04


@pytest.mark.parametrize("seed", SEEDS)
def test_labels_follow_the_known_logistic_function(ex, seed):
    frame = ex.generate.generate(20_000, seed=seed)
    logit = ex.generate.fraud_logit(frame)
    probability = 1 / (1 + np.exp(-logit))
    noise = 0.001
    expected = probability.mean() * (1 - noise) + (1 - probability.mean()) * noise
    se = np.sqrt(np.sum(probability * (1 - probability))) / len(frame)
    assert abs(frame["is_fraud"].mean() - expected) < 4 * se
    assert roc_auc_score(frame["is_fraud"], logit) > 0.85


@pytest.mark.parametrize("seed", SEEDS[:3])
@pytest.mark.parametrize("strength", [0.5, 2.0])
def test_amount_drift_scales_amounts_and_touches_nothing_else(ex, seed, strength):
    base = ex.generate.generate(20_000, seed=seed)
    drifted = ex.generate.generate(20_000, seed=seed, drift={"amount": strength})
    np.testing.assert_allclose(drifted["amount"], base["amount"] * (1 + strength), atol=0.02 * (1 + strength))
    same = base.columns.drop(["amount", "is_fraud"])
    pd.testing.assert_frame_equal(drifted[same], base[same])
    assert drifted["is_fraud"].mean() > base["is_fraud"].mean()


@pytest.mark.parametrize("seed", SEEDS[:3])
@pytest.mark.parametrize("strength", [0.05, 0.3])
def test_category_drift_adds_the_unseen_category(ex, seed, strength):
    rows = 20_000
    base = ex.generate.generate(rows, seed=seed)
    drifted = ex.generate.generate(rows, seed=seed, drift={"category": strength})
    crypto = drifted["merchant_category"] == "crypto"
    assert not (base["merchant_category"] == "crypto").any()
    assert abs(crypto.mean() - strength) < 4 * np.sqrt(strength * (1 - strength) / rows)
    pd.testing.assert_series_equal(drifted["merchant_category"][~crypto], base["merchant_category"][~crypto])


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_pattern_drift_moves_risk_from_new_accounts_to_entertainment(ex, seed):
    base = ex.generate.generate(30_000, seed=seed)
    drifted = ex.generate.generate(30_000, seed=seed, drift={"pattern": 1.0})
    pd.testing.assert_frame_equal(drifted.drop(columns="is_fraud"), base.drop(columns="is_fraud"))
    new = base["account_age_days"] < 30
    entertainment = base["merchant_category"] == "entertainment"
    assert _rate(base, new) > 3 * _rate(base, ~new)
    assert _rate(drifted, new) < 2 * _rate(drifted, ~new)
    assert _rate(drifted, entertainment) > 3 * _rate(base, entertainment)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"drift": {"seasonal": 0.1}}, "must name one of .* Got 'seasonal'"),
        ({"drift": {"category": 1.5}}, r"drift 'category' must be a float \[0.0, 1.0\]. Got 1.5"),
        ({"drift": {"amount": -0.5}}, "drift 'amount' must be a float >= 0.0. Got -0.5"),
        ({"days": 0}, "'days' option of generate must be an int >= 1. Got 0"),
        ({"label_noise": 0.9}, "'label_noise' .* Got 0.9"),
    ],
)
def test_generate_rejects_bad_options_with_a_clear_message(ex, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ex.generate.generate(100, **kwargs)


def test_generate_cli_writes_parquet_with_the_requested_drift(ex, tmp_path, capsys):
    out = tmp_path / "data" / "t.parquet"
    ex.generate.main(
        [
            "--rows",
            "800",
            "--seed",
            "2",
            "--drift",
            "category",
            "--drift-strength",
            "0.5",
            "--out",
            str(out),
        ]
    )
    written = pd.read_parquet(out)
    pd.testing.assert_frame_equal(written, ex.generate.generate(800, seed=2, drift={"category": 0.5}))
    assert "wrote 800 rows" in capsys.readouterr().out


def test_features_are_row_wise_and_drop_ids_group_and_target(ex):
    frame = ex.generate.generate(500, seed=1)
    full = ex.features.build_features(frame)
    assert set(full.columns) == {*ex.features.NUMERIC, *ex.features.CATEGORICAL}
    assert len(full) == len(frame)
    for i in [0, 17, 250, 499]:
        pd.testing.assert_frame_equal(ex.features.build_features(frame.iloc[[i]]), full.iloc[[i]])
    record = frame.drop(columns="is_fraud").iloc[17].to_dict()
    served = pd.DataFrame([{**record, "timestamp": str(record["timestamp"])}])
    pd.testing.assert_frame_equal(ex.features.build_features(served), full.iloc[[17]].reset_index(drop=True))


def test_features_keep_missing_inputs_missing(ex):
    row = ex.generate.generate(5, seed=0).iloc[[0]].assign(country=None, account_age_days=np.nan)
    out = ex.features.build_features(row)
    assert out[["is_foreign", "is_new_account", "account_age_days"]].isna().all(axis=None)
    assert out["country"].isna().all()


def test_features_name_missing_raw_columns(ex):
    frame = ex.generate.generate(5, seed=0).rename(columns={"amount": "amt"})
    with pytest.raises(ValueError, match=r"\['amount'\] are missing"):
        ex.features.build_features(frame)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_params_pass_the_auc_gate_on_a_time_holdout(ex, policy, seed):
    frame = ex.generate.generate(20_000, seed=seed)
    cut = int(len(frame) * (1 - policy.split.test_size))
    X, y = ex.features.build_features(frame), frame["is_fraud"]
    model = ex.train.train(X.iloc[:cut], y.iloc[:cut], policy.params_for(smoke=False))
    auc = roc_auc_score(y.iloc[cut:], model.predict_proba(X.iloc[cut:])[:, 1])
    floor = next(g for g in policy.gates if g.params.get("metric") == "roc_auc" and "min" in g.params)
    assert auc > floor.params["min"] + 0.03
    assert model.predict(X.iloc[cut:]).sum() > 0


def test_policy_metrics_and_gates_are_valid(policy):
    from shipyard.evaluation.metrics import check_metric_names
    from shipyard.gates.catalog import build_gates

    check_metric_names(policy.task, policy.metrics, "shipyard.yaml: metrics")
    built = build_gates(policy.gates, task=policy.task)
    assert [config.type for config, _ in built] == [
        "metric_threshold",
        "output_contract",
        "performance",
        "no_regression",
        "invariance",
        "directional",
        "serialization_round_trip",
        "training_serving_skew",
    ]


def test_smoke_params_on_the_sample_predict_both_classes_on_its_time_holdout(ex, policy):
    sample = pd.read_parquet(EXAMPLE / "data" / "sample.parquet")
    cut = int(len(sample) * (1 - policy.split.test_size))
    X, y = ex.features.build_features(sample), sample["is_fraud"]
    model = ex.train.train(X.iloc[:cut], y.iloc[:cut], policy.params_for(smoke=True))
    assert set(model.predict(X.iloc[cut:])) == {0, 1}
    assert roc_auc_score(y.iloc[cut:], model.predict_proba(X.iloc[cut:])[:, 1]) > 0.7


def test_unseen_category_and_nulls_at_serving_do_not_crash(ex, policy):
    sample = pd.read_parquet(EXAMPLE / "data" / "sample.parquet")
    model = ex.train.train(
        ex.features.build_features(sample), sample["is_fraud"], policy.params_for(smoke=True)
    )
    rows = sample.drop(columns="is_fraud").head(3).assign(merchant_category="crypto")
    rows.loc[1, "device"] = None
    rows.loc[2, "country"] = "ZZ"
    proba = model.predict_proba(ex.features.build_features(rows))
    assert proba.shape == (3, 2) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_train_rejects_unknown_params_naming_them(ex):
    with pytest.raises(ValueError, match=r"\['max_iters'\]. Valid params: .*'max_iter'"):
        ex.train.build_pipeline({"max_iters": 10})


def test_corrupt_breaks_the_batch_in_each_documented_way(ex):
    frame = ex.generate.generate(1000, seed=0)
    original = frame.copy()
    broken = ex.corrupt.corrupt(frame, seed=1, fraction=0.05)
    pd.testing.assert_frame_equal(frame, original)
    assert "amt" in broken.columns and "amount" not in broken.columns
    assert pd.api.types.is_string_dtype(broken["account_age_days"])
    assert (broken["merchant_category"] == "crypto").sum() == 50
    assert broken[["country", "device"]].isna().sum().tolist() == [50, 50]
    pd.testing.assert_frame_equal(broken, ex.corrupt.corrupt(frame, seed=1, fraction=0.05))


def test_corrupt_cli_round_trips_through_parquet(ex, tmp_path):
    out = tmp_path / "corrupted.parquet"
    ex.corrupt.main(["--in", str(EXAMPLE / "data" / "sample.parquet"), "--out", str(out)])
    broken = pd.read_parquet(out)
    assert "amt" in broken.columns and broken["country"].isna().any()
    assert pd.api.types.is_string_dtype(broken["account_age_days"])
