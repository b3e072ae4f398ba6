"""The Gate contract: what a gate receives, what it returns, how it is configured.

A gate subclasses `Gate`, takes every parameter as an explicit keyword-only
`__init__` argument stored unchanged under the same name (scikit-learn's rule:
repr, `get_params` and config round trips come free), declares their constraints
in `_parameter_constraints`, and implements `evaluate(ctx) -> CheckResult`.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from shipyard.core.params import validate_params
from shipyard.core.results import CheckResult
from shipyard.evaluation.outputs import ModelOutputs


@dataclass(frozen=True)
class GateContext:
    """Everything a gate may look at, all computed on the held-out test split.

    `baseline` is the current `production` model's outputs on the same rows, or
    None when there is no production model yet.
    """

    task: str
    y_true: np.ndarray
    candidate: ModelOutputs
    metrics: Mapping[str, float]
    baseline: ModelOutputs | None = None
    baseline_version: str | None = None
    baseline_metrics: Mapping[str, float] = field(default_factory=dict)
    performance: Mapping[str, float] = field(default_factory=dict)
    slices: Mapping[str, Mapping[str, Mapping[str, float]]] = field(default_factory=dict)
    seed: int = 0


class Gate:
    """Base class of every gate. Subclasses set `type_name` and `_parameter_constraints`."""

    type_name: ClassVar[str] = ""
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, label: str | None = None) -> Gate:
        """Build the gate from config, with a clear `ConfigError` for any bad option."""
        owner = f"gate '{label or cls.type_name}'"
        validate_params(owner, cls._parameter_constraints, params)
        return cls(**params)

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        shown = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if defaults.get(k) != v)
        return f"{type(self).__name__}({shown})"

    def evaluate(self, ctx: GateContext) -> CheckResult:
        raise NotImplementedError
