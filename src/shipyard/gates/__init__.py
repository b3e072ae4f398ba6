"""Gates: the contract (`Gate`, `GateContext`), the built-in gates, and running them.

The names below are imported on first use, so that building the gates a policy names
(`gates.catalog`) does not import every built-in gate and the libraries it needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipyard.gates.base import Gate, GateContext
    from shipyard.gates.behaviour import DirectionalGate, InvarianceGate
    from shipyard.gates.catalog import GATE_TYPES, build_gates, run_gates
    from shipyard.gates.contract import OutputContractGate
    from shipyard.gates.custom import FunctionGate
    from shipyard.gates.functionality import MinimumFunctionalityGate
    from shipyard.gates.performance import PerformanceGate
    from shipyard.gates.regression import NoRegressionGate
    from shipyard.gates.reproducibility import (
        DeterminismGate,
        SerializationRoundTripGate,
        TrainingServingSkewGate,
    )
    from shipyard.gates.robustness import RobustnessGate
    from shipyard.gates.thresholds import MetricThresholdGate

_LAZY = {
    "DeterminismGate": "shipyard.gates.reproducibility",
    "DirectionalGate": "shipyard.gates.behaviour",
    "FunctionGate": "shipyard.gates.custom",
    "GATE_TYPES": "shipyard.gates.catalog",
    "Gate": "shipyard.gates.base",
    "GateContext": "shipyard.gates.base",
    "InvarianceGate": "shipyard.gates.behaviour",
    "MetricThresholdGate": "shipyard.gates.thresholds",
    "MinimumFunctionalityGate": "shipyard.gates.functionality",
    "NoRegressionGate": "shipyard.gates.regression",
    "OutputContractGate": "shipyard.gates.contract",
    "PerformanceGate": "shipyard.gates.performance",
    "RobustnessGate": "shipyard.gates.robustness",
    "SerializationRoundTripGate": "shipyard.gates.reproducibility",
    "TrainingServingSkewGate": "shipyard.gates.reproducibility",
    "build_gates": "shipyard.gates.catalog",
    "run_gates": "shipyard.gates.catalog",
}

__all__ = [
    "DeterminismGate",
    "DirectionalGate",
    "FunctionGate",
    "GATE_TYPES",
    "Gate",
    "GateContext",
    "InvarianceGate",
    "MetricThresholdGate",
    "MinimumFunctionalityGate",
    "NoRegressionGate",
    "OutputContractGate",
    "PerformanceGate",
    "RobustnessGate",
    "SerializationRoundTripGate",
    "TrainingServingSkewGate",
    "build_gates",
    "run_gates",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'shipyard.gates' has no attribute {name!r}")
