"""Evaluation: metrics as pure functions, slices, serving cost, and paired statistics.

Names load on first use: `metrics` imports scikit-learn, which costs about a second.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "METRICS": "metrics",
    "Metric": "metrics",
    "check_metric_names": "metrics",
    "compute_metrics": "metrics",
    "default_metrics": "metrics",
    "ModelOutputs": "outputs",
    "measure_performance": "performance",
    "slice_metrics": "slices",
    "ComparisonResult": "comparisons",
    "compare": "comparisons",
    "BootstrapResult": "statistics",
    "paired_bootstrap": "statistics",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"shipyard.evaluation.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'shipyard.evaluation' has no attribute {name!r}")
