"""Gates: the contract (`Gate`, `GateContext`), the built-in gates, and running them."""

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
