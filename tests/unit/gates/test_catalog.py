"""Building gates from shipyard.yaml and running them all into one report."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import shipyard.gates
from shipyard.config import GateConfig, parse_policy
from shipyard.core.results import CheckResult, Reason, Severity, Status
from shipyard.errors import ConfigError
from shipyard.gates import (
    GATE_TYPES,
    Gate,
    GateContext,
    MetricThresholdGate,
    NoRegressionGate,
    build_gates,
    run_gates,
)


def _configs(*entries: dict) -> list[GateConfig]:
    return [GateConfig.model_validate(entry) for entry in entries]


class CrashingGate(Gate):
    """A gate with a bug: evaluating it raises."""

    type_name = "crashing"

    def __init__(self) -> None:
        pass

    def evaluate(self, ctx: GateContext) -> CheckResult:
        raise ZeroDivisionError("division by zero in my gate")


def test_gate_types_are_registered_by_name():
    assert {"metric_threshold", "no_regression", "output_contract", "performance"} <= set(GATE_TYPES)
    assert all(name == cls.type_name for name, cls in GATE_TYPES.items())


def test_every_built_in_gate_class_is_in_the_catalog():
    # the catalog names its gates as "module:class" strings; none may be forgotten
    for module in pkgutil.iter_modules(shipyard.gates.__path__, "shipyard.gates."):
        importlib.import_module(module.name)
    defined = {
        cls.type_name: cls
        for cls in _subclasses(Gate)
        if cls.__module__.startswith("shipyard.gates.") and cls.type_name
    }
    del defined["function"]  # FunctionGate wraps a user's function; it is not a type to name
    assert dict(GATE_TYPES) == defined


def _subclasses(cls: type) -> list[type]:
    return [c for sub in cls.__subclasses__() for c in (sub, *_subclasses(sub))]


def test_building_gates_imports_only_the_gates_named():
    # a fresh interpreter: which modules does checking a one-gate policy load?
    code = (
        "import sys; from shipyard.config import GateConfig; from shipyard.gates.catalog import build_gates; "
        "build_gates([GateConfig.model_validate({'type': 'metric_threshold', 'metric': 'roc_auc', "
        "'min': 0.8})], task='classification'); "
        "print(*sorted(m for m in sys.modules if m.startswith(('shipyard.gates.', 'pandera'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    gates = [
        "shipyard.gates.base",
        "shipyard.gates.catalog",
        "shipyard.gates.custom",
        "shipyard.gates.thresholds",
    ]
    assert done.stdout.split() == gates  # no other gate, and no pandera (data validation)


def test_build_gates_from_a_parsed_policy():
    policy = parse_policy(
        {
            "name": "churn",
            "data": {"source": "data.csv", "target": "churned"},
            "entrypoints": {"train": "model:train"},
            "gates": [
                {"type": "metric_threshold", "name": "auc_floor", "metric": "roc_auc", "min": 0.8},
                {"type": "no_regression", "metric": "roc_auc", "tolerance": 0.005},
                {"type": "output_contract", "required": False},
            ],
        }
    )
    built = build_gates(policy.gates, task=policy.task)
    assert [type(g) for _, g in built][:2] == [MetricThresholdGate, NoRegressionGate]
    assert built[0][1].get_params() == {"metric": "roc_auc", "min": 0.8, "max": None}
    assert built[1][1].tolerance == 0.005
    assert [c.label for c, _ in built] == ["auc_floor", "no_regression", "output_contract"]


def test_an_unknown_type_suggests_the_nearest():
    configs = _configs(
        {"type": "output_contract"},
        {"type": "performance", "max_size_mb": 5},
        {"type": "no_regresion", "metric": "f1"},
    )
    with pytest.raises(ConfigError) as info:
        build_gates(configs, task="classification")
    message = str(info.value)
    assert message.startswith(
        "shipyard.yaml: gates[2].type: unknown gate type 'no_regresion'. Did you mean "
        "'no_regression'? Valid types: "
    )
    assert all(name in message for name in GATE_TYPES)
    assert "'module:Class'" in message and "'shipyard.gates'" in message


def test_bad_options_are_prefixed_with_the_gate_position():
    with pytest.raises(ConfigError) as info:
        build_gates(
            _configs({"type": "no_regression", "metric": "roc_auc", "tolerance": 5}),
            task="classification",
        )
    assert str(info.value) == (
        "shipyard.yaml: gates[0]: The 'tolerance' option of gate 'no_regression' must be a float "
        "in [0, 1]. Got 5 instead."
    )
    with pytest.raises(
        ConfigError,
        match=r"gates\[0\]: Unknown option 'tolerence' of gate 'nr'\. Did you mean 'tolerance'\?",
    ):
        build_gates(
            _configs({"type": "no_regression", "name": "nr", "metric": "f1", "tolerence": 0.1}),
            task="classification",
        )


def test_a_missing_required_option_is_named():
    with pytest.raises(ConfigError, match=r"gates\[0\]: gate 'no_regression' needs the option 'metric'"):
        build_gates(_configs({"type": "no_regression"}), task="classification")


def test_metric_names_are_checked_against_the_task():
    with pytest.raises(ConfigError) as info:
        build_gates(
            _configs({"type": "metric_threshold", "metric": "roc_acu", "min": 0.5}),
            task="classification",
        )
    assert str(info.value).startswith(
        "shipyard.yaml: gates[0].metric: unknown metric 'roc_acu' for a classification task. "
        "Did you mean 'roc_auc'?"
    )
    with pytest.raises(ConfigError, match="'roc_auc' is a classification metric"):
        build_gates(_configs({"type": "no_regression", "metric": "roc_auc"}), task="regression")


def test_run_gates_collects_every_result_and_contains_a_crash(make_context):
    types = {**GATE_TYPES, "crashing": CrashingGate}
    configs = _configs(
        {"type": "metric_threshold", "name": "auc_floor", "metric": "roc_auc", "min": 0.99},
        {"type": "crashing", "name": "mine"},
        {"type": "output_contract"},
    )
    report = run_gates(build_gates(configs, task="classification", gate_types=types), make_context())
    assert [r.check for r in report.results] == ["auc_floor", "mine", "output_contract"]
    assert report.results[0].subject == "roc_auc"
    assert [r.evidence["gate_type"] for r in report.results] == [
        "metric_threshold",
        "crashing",
        "output_contract",
    ]
    assert [r.status for r in report.results] == [Status.FAILED, Status.FAILED, Status.PASSED]
    crash = report.results[1]
    assert crash.reason is Reason.GATE_ERROR and crash.check == "mine"
    assert (
        crash.message == "gate 'mine' could not be evaluated: ZeroDivisionError: division by zero in my gate"
    )
    assert "ZeroDivisionError" in crash.evidence["traceback"]
    assert report.headline() == "2 of 3 gates failed"


def test_a_gate_that_is_not_required_only_warns(make_context):
    configs = _configs(
        {"type": "metric_threshold", "metric": "roc_auc", "min": 0.99, "required": False},
        {"type": "no_regression", "metric": "roc_auc"},
    )
    report = run_gates(build_gates(configs, task="classification"), make_context(baseline=None))
    failed, skipped = report.results
    assert failed.status is Status.FAILED and failed.severity is Severity.WARN
    assert skipped.status is Status.SKIPPED and skipped.reason is Reason.NO_BASELINE
    assert report.passed
    assert report.headline() == "all 2 gates passed (1 warning, 1 skipped)"
