"""`check_gate` catches each way a user's gate can break the Gate contract."""

from __future__ import annotations

import re

import numpy as np
import pytest

from shipyard.core.params import Interval, OfType
from shipyard.core.results import CheckResult, Status
from shipyard.gates.base import Gate, GateContext
from shipyard.testing import check_gate, synthetic_context


class GoodGate(Gate):
    type_name = "good"
    _parameter_constraints = {"min_rows": [Interval(int, 1, None)]}

    def __init__(self, *, min_rows: int = 10) -> None:
        self.min_rows = min_rows

    def evaluate(self, ctx: GateContext) -> CheckResult:
        rows = len(ctx.y_true)
        status = Status.PASSED if rows >= self.min_rows else Status.FAILED
        return CheckResult(
            check=self.type_name, status=status, message=f"{rows} rows", evidence={"rows": rows}
        )


class ConvertingGate(GoodGate):
    _parameter_constraints = {"columns": [OfType(list, "a list")]}

    def __init__(self, *, columns: list[str] | None = None) -> None:
        self.columns = list(columns or [])


class UnconstrainedGate(GoodGate):
    _parameter_constraints = {}


class PositionalGate(GoodGate):
    def __init__(self, min_rows: int = 10) -> None:
        self.min_rows = min_rows


class NotJsonGate(GoodGate):
    def evaluate(self, ctx: GateContext) -> CheckResult:
        result = super().evaluate(ctx)
        return CheckResult(check="x", status=result.status, message="m", evidence={"rows": ctx.rows})


class RandomGate(GoodGate):
    def evaluate(self, ctx: GateContext) -> CheckResult:
        value = float(np.random.default_rng().random())
        return CheckResult(check="x", status=Status.PASSED, message="m", observed=value)


class NeedsBaselineGate(GoodGate):
    def evaluate(self, ctx: GateContext) -> CheckResult:
        assert ctx.baseline is not None
        return super().evaluate(ctx)


class MutatingGate(GoodGate):
    def evaluate(self, ctx: GateContext) -> CheckResult:
        assert ctx.rows is not None
        ctx.rows["amount"] = 0.0
        return super().evaluate(ctx)


class NotAResultGate(GoodGate):
    def evaluate(self, ctx: GateContext) -> CheckResult:
        return {"status": "passed"}  # type: ignore[return-value]


class UnknownNeedsGate(GoodGate):
    needs = frozenset({"rowz"})


def test_a_conforming_gate_passes_as_class_and_instance():
    check_gate(GoodGate)
    check_gate(GoodGate(min_rows=5))
    check_gate(GoodGate, params={"min_rows": 3})


@pytest.mark.parametrize(
    ("gate", "check"),
    [
        (ConvertingGate(columns=["amount"]), "check_parameters_stored_unchanged"),
        (UnconstrainedGate, "check_constraints_cover_parameters"),
        (PositionalGate, "check_keyword_only_parameters"),
        (NotJsonGate, "check_evidence_is_json"),
        (RandomGate, "check_deterministic"),
        (MutatingGate, "check_context_unchanged"),
        (NotAResultGate, "check_evaluate_with_baseline"),
        (UnknownNeedsGate, "check_type_name_and_needs"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__ if isinstance(v, Gate) else v.__name__,
)
def test_each_broken_contract_is_named(gate, check):
    with pytest.raises(AssertionError, match=rf"- {re.escape(check)}: "):
        check_gate(gate)


def test_a_gate_that_crashes_without_baseline_is_caught():
    with pytest.raises(AssertionError) as info:
        check_gate(NeedsBaselineGate)
    assert "check_evaluate_without_baseline" in str(info.value)
    assert "check_evaluate_with_baseline" not in str(info.value)


def test_not_a_gate_is_refused():
    with pytest.raises(TypeError, match="takes a Gate subclass or instance"):
        check_gate(object)  # type: ignore[arg-type]


def test_the_synthetic_context_is_filled_and_fresh():
    first, second = synthetic_context(), synthetic_context(with_baseline=False)
    assert first.rows is not second.rows
    assert first.rows.equals(second.rows)
    assert first.baseline is not None and second.baseline is None and second.baseline_model is None
    assert 0.6 < first.metrics["roc_auc"] < 1
    assert set(first.schema.names) == {*first.rows.columns}
    assert len(first.y_true) == len(first.rows)
