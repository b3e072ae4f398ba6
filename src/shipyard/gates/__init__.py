"""Gates: the contract (`Gate`, `GateContext`), the built-in gates, and running them."""

from shipyard.gates.base import Gate, GateContext
from shipyard.gates.catalog import GATE_TYPES, build_gates, run_gates
from shipyard.gates.contract import OutputContractGate
from shipyard.gates.performance import PerformanceGate
from shipyard.gates.regression import NoRegressionGate
from shipyard.gates.thresholds import MetricThresholdGate

__all__ = [
    "GATE_TYPES",
    "Gate",
    "GateContext",
    "MetricThresholdGate",
    "NoRegressionGate",
    "OutputContractGate",
    "PerformanceGate",
    "build_gates",
    "run_gates",
]
