"""Shipyard: CI/CD for machine-learning models.

The public API is small; everything heavy is imported lazily so that
`import shipyard` and `shipyard --help` stay fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "CheckResult": "shipyard.core.results",
    "Gate": "shipyard.gates.base",
    "GateContext": "shipyard.gates.base",
    "ModelOutputs": "shipyard.evaluation.outputs",
    "Policy": "shipyard.config.policy",
    "Project": "shipyard.config.project",
    "Reason": "shipyard.core.results",
    "Report": "shipyard.core.results",
    "Severity": "shipyard.core.results",
    "Status": "shipyard.core.results",
    "Workspace": "shipyard.workspace",
    "detect_drift": "shipyard.monitoring.engine",
    "infer_project_schema": "shipyard.api",
    "run_pipeline": "shipyard.api",
    "run_smoke": "shipyard.api",
    "validate_project_data": "shipyard.api",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'shipyard' has no attribute {name!r}")
