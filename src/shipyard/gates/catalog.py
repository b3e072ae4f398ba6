"""The built-in gate types, building gates from `shipyard.yaml`, and running them all."""

from __future__ import annotations

import dataclasses
import inspect
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

from shipyard.config.policy import GateConfig, RolloutConfig
from shipyard.core.results import CheckResult, Reason, Report, Severity, Status
from shipyard.errors import ConfigError
from shipyard.evaluation.metrics import check_metric_names
from shipyard.gates.base import Gate, GateContext
from shipyard.gates.behaviour import DirectionalGate, InvarianceGate
from shipyard.gates.calibration import CalibrationGate, ClassCollapseGate
from shipyard.gates.contract import OutputContractGate
from shipyard.gates.custom import build_user_gate, resolve_gate_type
from shipyard.gates.fairness import FairnessGate
from shipyard.gates.functionality import MinimumFunctionalityGate
from shipyard.gates.leakage import LeakageGate
from shipyard.gates.live import (
    ErrorRateGate,
    LatencyRatioGate,
    MeanConfidenceGate,
    PredictionShiftGate,
    ShadowAgreementGate,
)
from shipyard.gates.performance import PerformanceGate
from shipyard.gates.pytest_gate import PytestGate
from shipyard.gates.regression import NoRegressionGate
from shipyard.gates.reproducibility import (
    DeterminismGate,
    SerializationRoundTripGate,
    TrainingServingSkewGate,
)
from shipyard.gates.robustness import RobustnessGate
from shipyard.gates.thresholds import MetricThresholdGate

GATE_TYPES: dict[str, type[Gate]] = {
    cls.type_name: cls
    for cls in (
        MetricThresholdGate,
        OutputContractGate,
        PerformanceGate,
        NoRegressionGate,
        InvarianceGate,
        DirectionalGate,
        MinimumFunctionalityGate,
        RobustnessGate,
        DeterminismGate,
        SerializationRoundTripGate,
        TrainingServingSkewGate,
        ErrorRateGate,
        LatencyRatioGate,
        MeanConfidenceGate,
        PredictionShiftGate,
        ShadowAgreementGate,
        FairnessGate,
        CalibrationGate,
        ClassCollapseGate,
        LeakageGate,
        PytestGate,
    )
}


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
