"""The fairness gate on synthetic groups whose disparity is known in advance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shipyard.config import GateConfig
from shipyard.core.results import Reason, Status
from shipyard.errors import ConfigError
from shipyard.evaluation import ModelOutputs
from shipyard.gates import GateContext, build_gates, run_gates
from shipyard.gates.fairness import FairnessGate


def _context(seed: int, bias: float, n: int = 1200, tiny: int = 0) -> GateContext:
    """Groups 'a' and 'b'; 'b' gets `bias` added to its logit (0: a fair model). `tiny` rows of 'c'."""
    rng = np.random.default_rng(seed)
    group = np.array(["a", "b"] * (n // 2) + ["c"] * tiny)
    y = rng.integers(0, 2, len(group))
    z = 2.0 * y + rng.normal(size=len(group)) + np.where(group == "b", bias, 0.0)
    p = 1 / (1 + np.exp(-(z - 1.0)))
    rows = pd.DataFrame({"group": group, "region": rng.choice(["n", "s"], len(group)), "label": y})
    outputs = ModelOutputs((p >= 0.5).astype(int), np.column_stack([1 - p, p]), (0, 1))
    return GateContext(
        task="classification", y_true=y, candidate=outputs, metrics={}, rows=rows, target="label"
    )


def test_a_fair_model_passes(seed):
    gate = FairnessGate(
        sensitive="group",
        min_demographic_parity_ratio=0.8,
        max_equalized_odds_difference=0.15,
        min_fpr_ratio=0.5,
    )
    result = gate.evaluate(_context(seed, bias=0.0))
    assert result.status is Status.PASSED, result.message
    assert result.message.startswith("fairness across group (2 groups compared): demographic_parity_ratio = ")
    assert {g["group"] for g in result.evidence["groups"]} == {"a", "b"}


def test_a_biased_model_fails_naming_the_worst_pair(seed):
    gate = FairnessGate(sensitive="group", max_demographic_parity_difference=0.1, metrics=["recall"])
    result = gate.evaluate(_context(seed, bias=1.5))
    assert result.status is Status.FAILED
    assert result.reason is Reason.DEMOGRAPHIC_PARITY_GAP
    assert "demographic_parity_difference = " in result.message
    assert "is above the maximum 0.1 (selection rate " in result.message
    assert "in 'a' vs " in result.message and "in 'b')" in result.message
    assert {e["group"] for e in result.examples} == {"a", "b"}
    assert set(result.examples[0]) >= {"size", "selection_rate", "tpr", "fpr", "recall", "eligible"}


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("min_demographic_parity_ratio", 0.9, Reason.DEMOGRAPHIC_PARITY_GAP),
        ("max_equalized_odds_difference", 0.05, Reason.EQUALIZED_ODDS_GAP),
        ("min_fpr_ratio", 0.8, Reason.FALSE_POSITIVE_RATE_GAP),
    ],
)
def test_each_criterion_has_its_reason(seed, option, value, reason):
    result = FairnessGate(sensitive="group", **{option: value}).evaluate(_context(seed, bias=1.5))
    assert result.status is Status.FAILED and result.reason is reason
    assert list(result.expected) == [option]


def test_too_small_groups_are_reported_not_compared(seed):
    gate = FairnessGate(sensitive="group", max_demographic_parity_difference=0.2, min_group_size=30)
    result = gate.evaluate(_context(seed, bias=0.0, tiny=8))
    assert result.status is Status.PASSED
    assert result.evidence["too_small"] == ["c"]
    assert "too small to compare (< 30 rows): 'c' (8 rows)" in result.message
    assert "(2 groups compared)" in result.message


def test_one_eligible_group_is_inconclusive():
    gate = FairnessGate(sensitive="group", max_demographic_parity_difference=0.2, min_group_size=1000)
    result = gate.evaluate(_context(0, bias=0.0, n=400))
    assert result.status is Status.FAILED and result.reason is Reason.INCONCLUSIVE
    assert "cannot be computed: only 0 group(s) have at least 1000 rows" in result.message


def test_intersectional_groups(seed):
    gate = FairnessGate(sensitive=["group", "region"], max_demographic_parity_difference=0.1)
    result = gate.evaluate(_context(seed, bias=1.5))
    assert result.subject == "group, region"
    assert len(result.evidence["groups"]) == 4
    assert "group=b & region=" in result.message


def test_a_higher_threshold_selects_fewer_rows():
    ctx = _context(0, bias=0.0)
    low = FairnessGate(sensitive="group", min_fpr_ratio=0.1, threshold=0.3).evaluate(ctx)
    high = FairnessGate(sensitive="group", min_fpr_ratio=0.1, threshold=0.7).evaluate(ctx)
    rate = [g["selection_rate"] for g in low.evidence["groups"]]
    assert all(r > h["selection_rate"] for r, h in zip(rate, high.evidence["groups"], strict=True))


def _build(task: str = "classification", **params: object) -> list:
    config = GateConfig(type="fairness", **{"sensitive": "group", "min_fpr_ratio": 0.8, **params})
    return build_gates([GateConfig(type="output_contract"), config], task=task)


def test_config_errors_name_the_gate_key_and_the_fix():
    with pytest.raises(
        ConfigError, match=r"needs at least one of the options 'max_demographic_parity_difference'"
    ):
        build_gates([GateConfig(type="fairness", sensitive="group")], task="classification")
    with pytest.raises(ConfigError) as info:
        _build(metrics=["recal"])
    assert str(info.value).startswith("shipyard.yaml: gates[1].metrics: unknown metric 'recal'")
    assert "Did you mean 'recall'?" in str(info.value)
    with pytest.raises(
        ConfigError, match=r"^shipyard.yaml: gates\[1\]: the fairness gate .* task is 'regression'"
    ):
        _build(task="regression")
    with pytest.raises(
        ConfigError, match=r"must be a string or a non-empty list of strings\. Got \[\] instead"
    ):
        _build(sensitive=[])


def test_an_unknown_column_at_run_time_is_a_gate_error_the_others_survive():
    gates = _build(sensitive="customer")
    report = run_gates(gates, _context(0, bias=0.0))
    contract, fairness = report.results
    assert contract.status is Status.PASSED
    assert fairness.reason is Reason.GATE_ERROR
    assert "sensitive: column 'customer' is not in the test rows" in fairness.message


def test_multiclass_models_are_refused():
    rng = np.random.default_rng(0)
    y = rng.choice(["x", "y", "z"], 90)
    proba = rng.dirichlet([1, 1, 1], 90)
    ctx = GateContext(
        task="classification",
        y_true=y,
        candidate=ModelOutputs(np.array(["x", "y", "z"])[proba.argmax(1)], proba, ("x", "y", "z")),
        metrics={},
        rows=pd.DataFrame({"group": ["a", "b", "c"] * 30, "label": y}),
    )
    with pytest.raises(ConfigError, match="the rate criteria need a binary classifier; the model has 3"):
        FairnessGate(sensitive="group", min_fpr_ratio=0.8).evaluate(ctx)


def test_missing_rows_say_what_to_fill():
    ctx = _context(0, bias=0.0)
    bare = GateContext(task=ctx.task, y_true=ctx.y_true, candidate=ctx.candidate, metrics={})
    with pytest.raises(ConfigError, match="reads the raw rows, but the gate context has none"):
        FairnessGate(sensitive="group", min_fpr_ratio=0.8).evaluate(bare)
