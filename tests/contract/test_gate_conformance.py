"""Every built-in gate passes `shipyard.testing.check_gate`, the checks users run on their own gates.

Gates are built from values generated from their constraints, except where a gate
needs a real value to evaluate (like scikit-learn's per-estimator test params).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.gates.base import Gate
from shipyard.gates.catalog import GATE_TYPES
from shipyard.testing import check_gate, gate_checks

PASSING_TESTS = "def test_passes():\n    assert True\n"


@pytest.fixture(scope="module")
def model_tests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model_tests")
    (folder / "test_tiny.py").write_text(PASSING_TESTS)
    return folder


# Gates whose options must fit the synthetic context to evaluate (scikit-learn keeps such a
# table of per-estimator test parameters too); every other gate is built from its constraints.
CASE = {"timestamp": "2026-01-02", "amount": 20.0, "account_age_days": 10, "device": "web"}
CONFIGURED: dict[str, dict[str, object]] = {
    "directional": {"column": "amount", "perturbation": {"kind": "scale", "factor": 2.0}, "min_share": 0.5},
    "minimum_functionality": {"cases": [{"row": CASE, "expected": 1}], "min_accuracy": 0.0},
}


def _gate(cls: type[Gate], model_tests: Path) -> Gate | type[Gate]:
    if cls.type_name == "pytest":  # runs real tests: give it a folder that holds some
        return cls(path=str(model_tests))
    if cls.type_name in CONFIGURED:
        return cls(**CONFIGURED[cls.type_name])
    return cls


@pytest.mark.parametrize("cls", [GATE_TYPES[name] for name in sorted(GATE_TYPES)], ids=sorted(GATE_TYPES))
def test_built_in_gate_conforms(cls: type[Gate], model_tests: Path) -> None:
    check_gate(_gate(cls, model_tests))


def test_gate_checks_name_each_check() -> None:
    names = [name for name, _ in gate_checks(GATE_TYPES["output_contract"])]
    assert len(names) == len(set(names)) >= 10
    assert "check_deterministic" in names and "check_evaluate_without_baseline" in names
