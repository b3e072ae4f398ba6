"""Testing tools for Shipyard users: gate conformance checks and the pytest plugin.

`check_gate(MyGate)` runs the checks every built-in gate passes. The pytest plugin
(`shipyard.testing.pytest_plugin`, registered under `pytest11`) gives tests the
project, its models and its test split as fixtures. Names load lazily, so pytest
loading the plugin does not import the gate machinery.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "check_gate": "shipyard.testing.conformance",
    "gate_checks": "shipyard.testing.conformance",
    "synthetic_context": "shipyard.testing._context",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'shipyard.testing' has no attribute {name!r}")
