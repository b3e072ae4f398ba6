"""The built-in gate types, building gates from `shipyard.yaml`, and running them all."""

from __future__ import annotations

import dataclasses
import inspect
import traceback
from collections.abc import Iterator, Mapping, Sequence
from importlib import import_module
from pathlib import Path

from shipyard.config.policy import GateConfig, RolloutConfig
from shipyard.core.results import CheckResult, Reason, Report, Severity, Status
from shipyard.errors import ConfigError
from shipyard.evaluation.metrics import check_metric_names
from shipyard.gates.base import Gate, GateContext
from shipyard.gates.custom import build_user_gate, resolve_gate_type

#: the built-in gate types: name -> "module:class"
_BUILT_IN = {
    "metric_threshold": "shipyard.gates.thresholds:MetricThresholdGate",
    "output_contract": "shipyard.gates.contract:OutputContractGate",
    "performance": "shipyard.gates.performance:PerformanceGate",
    "no_regression": "shipyard.gates.regression:NoRegressionGate",
    "invariance": "shipyard.gates.behaviour:InvarianceGate",
    "directional": "shipyard.gates.behaviour:DirectionalGate",
    "minimum_functionality": "shipyard.gates.functionality:MinimumFunctionalityGate",
    "robustness": "shipyard.gates.robustness:RobustnessGate",
    "determinism": "shipyard.gates.reproducibility:DeterminismGate",
    "serialization_round_trip": "shipyard.gates.reproducibility:SerializationRoundTripGate",
    "training_serving_skew": "shipyard.gates.reproducibility:TrainingServingSkewGate",
    "error_rate": "shipyard.gates.live:ErrorRateGate",
    "latency_ratio": "shipyard.gates.live:LatencyRatioGate",
    "mean_confidence": "shipyard.gates.live:MeanConfidenceGate",
    "prediction_shift": "shipyard.gates.live:PredictionShiftGate",
    "shadow_agreement": "shipyard.gates.live:ShadowAgreementGate",
    "fairness": "shipyard.gates.fairness:FairnessGate",
    "calibration": "shipyard.gates.calibration:CalibrationGate",
    "class_collapse": "shipyard.gates.calibration:ClassCollapseGate",
    "leakage": "shipyard.gates.leakage:LeakageGate",
    "pytest": "shipyard.gates.pytest_gate:PytestGate",
}


class _GateTypes(Mapping[str, type[Gate]]):
    """The built-in gate classes by type name, each module imported when its gate is first asked
    for: checking a policy loads only the gates it uses (and their libraries), not all of them."""

    def __init__(self, refs: Mapping[str, str]) -> None:
        self._refs = dict(refs)

    def __getitem__(self, name: str) -> type[Gate]:
        module, attribute = self._refs[name].split(":")
        found: type[Gate] = getattr(import_module(module), attribute)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)


GATE_TYPES: Mapping[str, type[Gate]] = _GateTypes(_BUILT_IN)


def _missing_options(cls: type[Gate], params: Mapping[str, object]) -> list[str]:
    """Keyword-only options without a default that the config does not give."""
    signature = inspect.signature(cls.__init__)
    return [
        p.name
        for p in signature.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is p.empty and p.name not in params
    ]


def build_gates(
    configs: Sequence[GateConfig],
    *,
    task: str,
    gate_types: Mapping[str, type[Gate]] = GATE_TYPES,
    project_root: Path | None = None,
) -> list[tuple[GateConfig, Gate]]:
    """Build every configured gate, or raise `ConfigError` naming `gates[i]` and the fix.

    `gate_types` maps type names to gate classes (the built-ins); a `type` not in it
    is a `module:attribute` reference imported from `project_root`, or a plugin
    registered under the entry point group `shipyard.gates` (see `gates.custom`).
    """
    built = []
    for i, config in enumerate(configs):
        found = resolve_gate_type(config.type, known=gate_types, project_root=project_root, index=i)
        try:
            if isinstance(found, type) and issubclass(found, Gate) and found._parameter_constraints:
                missing = _missing_options(found, config.params)
                if missing:
                    raise ConfigError(
                        f"gate '{config.label}' needs the option {missing[0]!r}. Add it under the gate."
                    )
                gate = found.from_params(config.params, label=config.label)
            else:
                gate = build_user_gate(found, config.params, label=config.label)
        except ConfigError as exc:
            raise ConfigError(f"shipyard.yaml: gates[{i}]: {exc}") from None
        metric = gate.get_params().get("metric")
        if isinstance(metric, str):
            check_metric_names(task, [metric], where=f"shipyard.yaml: gates[{i}].metric")
        check_task = getattr(gate, "check_task", None)
        if callable(check_task):  # task-dependent options (e.g. the fairness gate's metrics)
            check_task(task, f"shipyard.yaml: gates[{i}]")
        built.append((config, gate))
    return built


def _crashed(config: GateConfig, exc: Exception) -> CheckResult:
    return CheckResult(
        check=config.type,
        status=Status.FAILED,
        message=f"gate '{config.label}' could not be evaluated: {type(exc).__name__}: {exc}",
        reason=Reason.GATE_ERROR,
        hint="This is a bug in the gate or its configuration, not a verdict on the model; "
        "see evidence.traceback.",
        evidence={
            "error": type(exc).__name__,
            "traceback": "".join(traceback.format_exception(exc)),
        },
    )


def run_gates(gates: Sequence[tuple[GateConfig, Gate]], ctx: GateContext) -> Report:
    """Evaluate every gate (none stops the others) and collect their results.

    A gate that raises becomes a failed result with reason `gate_error`; a gate
    configured with `required: false` only warns.
    """
    results = []
    for config, gate in gates:
        try:
            result = gate.evaluate(ctx)
            if not isinstance(result, CheckResult):
                raise TypeError(
                    f"{type(gate).__name__}.evaluate returned {type(result).__name__}, expected a CheckResult"
                )
        # any error inside one gate, ours or a plugin's, must not hide the other verdicts
        except Exception as exc:
            result = _crashed(config, exc)
        severity = result.severity if config.required else Severity.WARN
        # `check` is the gate as the policy names it; `subject` stays what the gate judged
        # (a metric, the outputs); the gate type is kept in the evidence.
        evidence = {**result.evidence, "gate_type": config.type}
        results.append(
            dataclasses.replace(
                result,
                check=config.label,
                subject=result.subject or config.type,
                severity=severity,
                evidence=evidence,
            )
        )
    return Report.of("gates", results)


def build_analysis(config: RolloutConfig, task: str) -> list[tuple[GateConfig, Gate]]:
    """The analysis rules as gates, with errors naming `rollout.analysis[i]`."""
    try:
        return build_gates(config.analysis, task=task)
    except ConfigError as exc:
        raise ConfigError(
            str(exc).replace("shipyard.yaml: gates[", "shipyard.yaml: rollout.analysis[")
        ) from None
