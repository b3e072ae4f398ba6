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
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np

from shipyard.core.params import validate_params
from shipyard.core.results import CheckResult
from shipyard.evaluation.outputs import ModelOutputs

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.config.policy import SplitConfig
    from shipyard.data.schema import Schema
    from shipyard.evaluation.traffic import TrafficSample
    from shipyard.training._servable import Servable
    from shipyard.training.formats import ModelTrust


@dataclass(frozen=True)
class GateContext:
    """Everything a gate may look at, all computed on the held-out test split.

    `baseline` is the current `production` model's outputs on the same rows, or
    None when there is no production model yet.

    The fields after `seed` are filled only when a configured gate declares it
    needs them (`Gate.needs`), since loading rows or the model costs time:
    `rows` are the raw test rows (target included) aligned with `y_true`,
    `train_rows` the raw training rows, `model` the candidate in memory (features +
    estimator), `model_dir` its packaged folder as the registry will store it, and
    `baseline_model_dir` the production model's folder as the registry served it.
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
    target: str = ""
    rows: pd.DataFrame | None = None
    train_rows: pd.DataFrame | None = None
    model: Servable | None = None
    baseline_model: Servable | None = None
    model_dir: Path | None = None
    baseline_model_dir: Path | None = None
    schema: Schema | None = None
    split: SplitConfig | None = None
    project_root: Path | None = None
    #: both routes' request, error and latency samples of a live window (rollout analysis only)
    traffic: TrafficSample | None = None
    model_trust: ModelTrust | None = None  # what loading `model_dir` may build (shipyard.yaml)


class Gate:
    """Base class of every gate. Subclasses set `type_name` and `_parameter_constraints`."""

    type_name: ClassVar[str] = ""
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}
    #: optional `GateContext` fields this gate reads: any of "rows", "train_rows",
    #: "model", "baseline_model", "model_dir", "baseline_model_dir", "schema", "baseline"
    needs: ClassVar[frozenset[str]] = frozenset()
    #: True when the verdict may rest on wall-clock timings taken during `evaluate`, which no
    #: two runs repeat exactly: conformance then checks repeated results for shape, not values
    timed: ClassVar[bool] = False

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, label: str | None = None) -> Self:
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
