"""User gates by dotted path and by entry point: built, validated, run beside the built-ins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from probe_models import context, fitted, raw_rows

from shipyard.config import GateConfig
from shipyard.core.results import Reason, Status
from shipyard.errors import ConfigError, EntryPointError, PluginLoadError
from shipyard.gates import build_gates, run_gates
from shipyard.gates.custom import FunctionGate, required_context

USER_GATES = '''
from shipyard.core.results import CheckResult, Status
from shipyard.gates.base import Gate


class RowCountGate(Gate):
    """A class gate without declared constraints: its __init__ names the options."""

    needs = frozenset({"rows"})

    def __init__(self, *, min_rows):
        self.min_rows = min_rows

    def evaluate(self, ctx):
        n = len(ctx.rows)
        status = Status.PASSED if n >= self.min_rows else Status.FAILED
        return CheckResult(check="row_count", status=status, message=f"{n} rows", observed=n)


def max_mean_score(ctx, *, limit=0.9):
    mean = float(ctx.candidate.y_score[:, 1].mean())
    status = Status.PASSED if mean <= limit else Status.FAILED
    return CheckResult(check="max_mean_score", status=status, message=f"mean score {mean:.3f}")


max_mean_score.needs = {"model"}


def wrong_needs(ctx):
    return None


wrong_needs.needs = {"rowz"}


def not_a_result(ctx):
    return 42


class NotAGate:
    pass
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    (root / "my_gates.py").write_text(USER_GATES)
    return root


@pytest.fixture(scope="module")
def rows():
    return raw_rows(120)


def _build(project: Path, *entries: dict):
    return build_gates(
        [GateConfig.model_validate(e) for e in entries], task="classification", project_root=project
    )


def test_a_class_and_a_function_by_dotted_path(project, rows):
    gates = _build(
        project,
        {"type": "my_gates:RowCountGate", "min_rows": 100},
        {"type": "my_gates:max_mean_score", "name": "mean", "limit": 0.99},
        {"type": "output_contract"},
    )
    assert [type(g).__name__ for _, g in gates] == ["RowCountGate", "FunctionGate", "OutputContractGate"]
    assert required_context(gates[0][1]) == {"rows"} and required_context(gates[1][1]) == {"model"}
    report = run_gates(gates, context(rows, fitted(rows)))
    assert [r.status for r in report.results] == [Status.PASSED] * 3
    assert (
        report.results[1].check == "mean"
        and report.results[1].evidence["gate_type"] == "my_gates:max_mean_score"
    )


@pytest.mark.parametrize(
    ("entry", "error", "message"),
    [
        (
            {"type": "my_gates:RowCount"},
            EntryPointError,
            r"gates\[0\].type: module 'my_gates' has no attribute",
        ),
        (
            {"type": "my_gates:RowCountGate"},
            ConfigError,
            r"gates\[0\]: gate 'my_gates:RowCountGate' needs the option",
        ),
        (
            {"type": "my_gates:RowCountGate", "min_row": 1},
            ConfigError,
            r"Unknown option 'min_row'.*'min_rows'",
        ),
        (
            {"type": "my_gates:max_mean_score", "limt": 1},
            ConfigError,
            r"Unknown option 'limt'.*Did you mean 'limit'",
        ),
        ({"type": "my_gates:NotAGate"}, ConfigError, r"is a class but not a subclass of shipyard.Gate"),
        ({"type": "my_gates:wrong_needs"}, ConfigError, r"declares needs \['rowz'\]"),
        (
            {"type": "outptu_contract"},
            ConfigError,
            r"unknown gate type 'outptu_contract'. Did you mean 'output_contract'",
        ),
    ],
)
def test_bad_user_gates_are_config_errors_naming_the_gate(project, entry, error, message):
    with pytest.raises(error, match=message):
        _build(project, entry)


def test_a_user_gate_that_returns_garbage_or_raises_is_that_gates_error(project, rows):
    gates = _build(project, {"type": "my_gates:not_a_result"}, {"type": "output_contract"})
    results = run_gates(gates, context(rows, fitted(rows))).results
    assert (
        results[0].reason is Reason.GATE_ERROR
        and "returned int, expected a CheckResult" in results[0].message
    )
    assert results[1].status is Status.PASSED


def test_gates_registered_under_the_entry_point_group(plugin_site, tmp_path, rows):
    gates = _build(
        tmp_path,
        {"type": "max_positive_rate", "max_rate": 0.1},
        {"type": "exploding"},
        {"type": "output_contract"},
    )
    results = run_gates(gates, context(rows, fitted(rows))).results
    with pytest.raises(PluginLoadError, match="'broken'"):
        _build(tmp_path, {"type": "broken"})
    with pytest.raises(ConfigError, match=r"Unknown option 'max_rat'.*max_rate"):
        _build(tmp_path, {"type": "max_positive_rate", "max_rat": 0.1})
    assert results[0].status is Status.FAILED and results[0].observed == pytest.approx(
        np.mean(rows.label == 1), abs=0.2
    )
    assert (
        results[1].reason is Reason.GATE_ERROR
        and "RuntimeError: the plugin gate blew up" in results[1].message
    )
    assert results[2].status is Status.PASSED, "a raising plugin must not stop the other gates"


def test_function_gate_parameters_round_trip():
    def fn(ctx, *, x=1):
        raise AssertionError

    gate = FunctionGate(function=fn, params={"x": 2})
    assert gate.get_params() == {"function": fn, "params": {"x": 2}}
    assert required_context(gate) == frozenset()
