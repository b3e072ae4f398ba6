"""The leakage gate: leaked features by name and score, and time splits that see the future."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.config.policy import SplitConfig
from shipyard.core.results import Reason, Status
from shipyard.data.schema import infer_schema
from shipyard.errors import ConfigError
from shipyard.evaluation import ModelOutputs
from shipyard.gates import GateContext
from shipyard.gates.leakage import LeakageGate
from shipyard.training._servable import Servable


def _rows(seed: int, n: int, start: str, leak: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return pd.DataFrame(
        {
            "transaction_id": rng.permutation(n) + (0 if start < "2025-06" else n),
            "ts": pd.date_range(start, periods=n, freq="h"),
            "amount": rng.gamma(2, 50, n) + 20 * y,
            "device": rng.choice(["ios", "android", "web"], n),
            "chargeback": np.where(y == 1, "yes", "no") if leak else rng.choice(["yes", "no"], n),
            "label": y,
        }
    )


def _features(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {"log_amount": np.log1p(df["amount"]), "refund_flag": (df["chargeback"] == "yes") * 1.0}
    )


@functools.cache  # contexts are frozen; building one fits a model
def _context(seed: int = 0, leak: bool = False, split: SplitConfig | None = None, overlap: bool = False):
    train = _rows(seed, 600, "2025-01-01", leak)
    test = _rows(seed + 100, 300, "2025-01-20" if overlap else "2025-07-01", leak)
    estimator = LogisticRegression().fit(_features(train), train["label"])
    model = Servable(estimator, _features, "classification", "label")
    return GateContext(
        task="classification",
        y_true=test["label"].to_numpy(),
        candidate=model.outputs(test),
        metrics={},
        rows=test,
        train_rows=train,
        model=model,
        target="label",
        split=split or SplitConfig(method="time", column="ts"),
    )


def test_clean_data_passes(seed):
    result = LeakageGate().evaluate(_context(seed))
    assert result.status is Status.PASSED, result.message
    assert result.message.startswith("no leakage found in 7 features; best single feature ")
    assert {f["source"] for f in result.evidence["features"]} == {"raw", "model"}
    assert result.evidence["time"]["columns"][0]["later_train_rows"] == 0


def test_a_leaked_column_and_the_feature_made_from_it_are_named(seed):
    result = LeakageGate().evaluate(_context(seed, leak=True))
    assert result.status is Status.FAILED and result.reason is Reason.SINGLE_FEATURE_LEAKAGE
    assert "raw feature 'chargeback' alone predicts the target with AUC 1.0000 (max 0.99)" in result.message
    assert "model feature 'refund_flag' alone predicts the target with AUC 1.0000" in result.message
    assert [e["feature"] for e in result.examples] == ["chargeback", "refund_flag"]


def test_only_model_features_and_ignored_columns(seed):
    model_only = LeakageGate(features="model").evaluate(_context(seed, leak=True))
    assert [e["feature"] for e in model_only.examples] == ["refund_flag"]
    assert LeakageGate.required_context(LeakageGate(features="raw")) == frozenset({"rows", "train_rows"})
    ignored = LeakageGate(ignore=["chargeback", "refund_flag"]).evaluate(_context(seed, leak=True))
    assert ignored.status is Status.PASSED, ignored.message
    chosen = LeakageGate(columns=["amount"]).evaluate(_context(seed, leak=True))
    assert [f["feature"] for f in chosen.evidence["features"]] == ["amount"]


def test_a_time_split_with_training_rows_from_the_future_fails():
    ctx = _context(0, overlap=True)
    result = LeakageGate().evaluate(ctx)
    assert result.status is Status.FAILED and result.reason is Reason.TIME_LEAKAGE
    assert (
        "the time split on 'ts' put 143 of 600 training rows after the earliest test row " in result.message
    )
    assert "(latest train 2025-01-25 23:00:00, earliest test 2025-01-20 00:00:00)" in result.message
    assert result.examples[0]["later_train_rows"] == 143
    assert LeakageGate(ignore=["ts"]).evaluate(ctx).status is Status.PASSED


def test_a_random_split_on_dated_rows_is_flagged_unless_ignored():
    ctx = _context(0, overlap=True, split=SplitConfig(method="random"))
    result = LeakageGate().evaluate(ctx)
    assert result.reason is Reason.TIME_LEAKAGE
    assert "split.method is 'random' but 'ts' holds dates: 143 of 600 training rows" in result.message
    assert "use split.method: time with column: ts" in result.message
    assert LeakageGate(ignore=["ts"]).evaluate(ctx).status is Status.PASSED
    assert LeakageGate(check_time=False).evaluate(ctx).status is Status.PASSED


def test_regression_flags_a_copy_of_the_target(seed):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(size=400), "price": rng.normal(100, 10, 400)})
    frame["price_copy"] = frame["price"] * 1.01
    train, test = frame.iloc[:300], frame.iloc[300:].reset_index(drop=True)
    ctx = GateContext(
        task="regression",
        y_true=test["price"].to_numpy(),
        candidate=ModelOutputs(test["price"].to_numpy()),
        metrics={},
        rows=test,
        train_rows=train,
        target="price",
    )
    result = LeakageGate(features="raw").evaluate(ctx)
    assert result.status is Status.FAILED
    assert "raw feature 'price_copy' alone predicts the target with R2 1.0000 (max 0.99)" in result.message
    assert result.evidence["time"] == {"checked": False, "why": "the split configuration was not given"}


def test_unknown_names_are_config_errors_with_a_suggestion():
    gate = LeakageGate(features="raw", ignore=["transaction_ids"])
    with pytest.raises(ConfigError) as info:
        gate.check_columns(["transaction_id", "ts", "amount"], "shipyard.yaml: gates[3]")
    assert str(info.value) == (
        "shipyard.yaml: gates[3].ignore[0]: column 'transaction_ids' is not in the schema. "
        "Did you mean 'transaction_id'? Valid columns: transaction_id, ts, amount."
    )
    schema = infer_schema(_rows(0, 50, "2025-01-01", leak=False), target="label")
    with pytest.raises(
        ConfigError, match=r"^shipyard.yaml: gates\[1\].columns\[0\]: column 'amont' .* 'amount'\?"
    ):
        LeakageGate(features="raw", columns=["amont"]).lint(schema=schema, where="shipyard.yaml: gates[1]")
    LeakageGate(ignore=["log_amount"]).check_columns(["amount"])  # model features are known only at run time
    with pytest.raises(
        ConfigError, match=r"ignore\[0\]: column 'log_amont' is not in the test rows or model"
    ):
        LeakageGate(ignore=["log_amont"]).evaluate(_context(0))


def test_missing_train_rows_or_model_say_what_to_fill():
    ctx = _context(0)
    no_train = GateContext(**{**ctx.__dict__, "train_rows": None})
    with pytest.raises(ConfigError, match="reads the raw train rows, but the gate context has none"):
        LeakageGate().evaluate(no_train)
    no_model = GateContext(**{**ctx.__dict__, "model": None})
    with pytest.raises(ConfigError, match="scores the model's input features .* has no model"):
        LeakageGate().evaluate(no_model)
