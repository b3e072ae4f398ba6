"""Public entry points of the pipeline: `run_pipeline` and `run_smoke`."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.config.project import Project
from shipyard.core.results import Report
from shipyard.errors import ConfigError
from shipyard.pipeline.cache import StageCache
from shipyard.pipeline.context import RunContext
from shipyard.pipeline.executors import Executor, LocalExecutor
from shipyard.pipeline.lint import lint
from shipyard.pipeline.release import gate_stage, register_stage
from shipyard.pipeline.runner import PipelineResult, Stage, StageEvent, compute_keys, run_stages
from shipyard.pipeline.stages import (
    evaluate_stage,
    features_stage,
    load_outputs,
    load_stage,
    read_json,
    report_of,
    split_stage,
    train_stage,
    validate_stage,
)

if TYPE_CHECKING:
    from shipyard.workspace import Workspace


@dataclass
class RunOutcome:
    """What a run produced: per-stage events, the reports, and the registered version."""

    pipeline: PipelineResult
    data_report: Report
    gate_report: Report
    version: str
    verdict: str
    evaluation: dict = field(default_factory=dict)
    new_version: bool = False
    #: what the gate stage recorded of the production model: version, metrics, curves ({} if none)
    baseline: dict = field(default_factory=dict)
    #: this run's data digest, seed and git state (`git_commit`, `git_dirty`, `git_branch`)
    provenance: dict = field(default_factory=dict)
    #: how the model is saved (`format`), whether pickle is allowed, whether the version is signed
    model_format: dict = field(default_factory=dict)

    @property
    def approved(self) -> bool:
        return self.verdict == "approved"

    def to_dict(self) -> dict:
        """Stable JSON summary for CI: stages, verdict, both reports and the evaluation."""
        return {
            "version": self.version,
            "verdict": self.verdict,
            "new_version": self.new_version,
            "stages": [
                {"stage": e.stage, "status": e.status.value, "seconds": round(e.seconds, 3)}
                for e in self.pipeline.events
            ],
            "data_report": self.data_report.to_dict(),
            "gate_report": self.gate_report.to_dict(),
            "evaluation": self.evaluation,
            "model_format": self.model_format,
        }


def invalid_data_summary(report: Report) -> dict:
    """The JSON summary of a run stopped by invalid data (same keys as `RunOutcome.to_dict`)."""
    return {"version": None, "verdict": "invalid_data", "new_version": False, "data_report": report.to_dict()}


def build_stages(ctx: RunContext) -> list[Stage]:
    stages = [
        load_stage(ctx),
        validate_stage(ctx),
        features_stage(ctx),
        split_stage(ctx),
        train_stage(ctx),
        evaluate_stage(ctx),
        gate_stage(ctx),
    ]
    return [*stages, register_stage(ctx, compute_keys(stages))]


def make_executor(project: Project, name: str | None = None) -> Executor:
    """The executor `name` (`--executor`), else shipyard.yaml's `executor:`; Ray only when asked."""
    chosen = name or project.policy.executor
    if chosen == "local":
        return LocalExecutor()
    if chosen == "ray":
        from shipyard.pipeline.ray_executor import RayExecutor

        return RayExecutor(project.policy.resources)
    raise ConfigError(f"--executor: '{chosen}' is not an executor; use 'local' or 'ray'.")


def _execute(
    ctx: RunContext,
    cache: StageCache,
    on_event: Callable[[StageEvent], None] | None,
    executor: Executor | None = None,
) -> RunOutcome:
    lint(ctx.project, smoke=ctx.smoke)
    stages = build_stages(ctx)
    try:
        result = run_stages(stages, cache, on_event=on_event, executor=executor)
    finally:
        ctx.hasher.save()
    register_dir = result.outputs["register"]
    version = read_json(register_dir / "version.json")
    evaluate_dir = result.outputs.get("evaluate")
    evaluation = read_json(evaluate_dir / "evaluation.json") if evaluate_dir else {}
    return RunOutcome(
        pipeline=result,
        data_report=_data_report(result),
        gate_report=report_of(register_dir / "gate_report.json"),
        version=version["version"],
        verdict=version["verdict"],
        evaluation=evaluation,
        new_version=version.get("new", False) and "register" in result.ran,
        baseline=_baseline(result, ctx.policy.task),
        provenance=_provenance(ctx),
        model_format=_model_format(ctx, result, version),
    )


def _baseline(result: PipelineResult, task: str) -> dict:
    """The production model's version, metrics and curves on this run's test rows, read from the
    gate stage's output; {} when the gate did not compare with production."""
    gate_dir = result.outputs.get("gate")
    if gate_dir is None or not (gate_dir / "baseline.json").is_file():
        return {}
    from shipyard.evaluation.curves import curve_data

    baseline = read_json(gate_dir / "baseline.json")
    if (gate_dir / "baseline_outputs.npz").is_file():
        y_true, outputs = load_outputs(gate_dir / "baseline_outputs.npz")
        baseline["curves"] = curve_data(task, y_true, outputs)
    return baseline


def _provenance(ctx: RunContext) -> dict:
    from shipyard.core.environment import git_state

    git = {f"git_{key}": value for key, value in git_state(ctx.project.root).items()}
    return {"data_digest": ctx.data_digest, "seed": ctx.seed, **git}


def _model_format(ctx: RunContext, result: PipelineResult, version: dict) -> dict:
    train_dir = result.outputs.get("train")
    metadata = train_dir / "model" / "shipyard.json" if train_dir else None
    fmt = read_json(metadata).get("format") if metadata and metadata.is_file() else None
    allow = ctx.policy.model_format.allow_pickle
    return {"format": fmt, "allow_pickle": allow, "signed": bool(version.get("signed"))}


def _data_report(result: PipelineResult) -> Report:
    validate_dir = result.outputs.get("validate")
    return report_of(validate_dir / "data_report.json") if validate_dir else Report.of("data", [])


def run_pipeline(
    workspace: Workspace,
    *,
    data: Path | None = None,
    on_event: Callable[[StageEvent], None] | None = None,
    executor: str | None = None,
) -> RunOutcome:
    """load -> validate -> features -> split -> train -> evaluate -> gate -> register, cached by content.

    `data` replaces `data.source` for this run (e.g. a new batch to check); `executor`
    (`local` or `ray`) replaces shipyard.yaml's `executor:`. Keys, outputs and reports are
    the same whichever executor runs the stages.
    """
    chosen = make_executor(workspace.project, executor)
    ctx = RunContext(workspace, data_override=data)
    cache = StageCache(workspace.cache_dir, workspace.objects)
    return _execute(ctx, cache, on_event, chosen)


@dataclass
class SmokeOutcome:
    run: RunOutcome
    seconds: float
    max_abs_difference: float
    contract: Report


def run_smoke(workspace: Workspace, *, on_event: Callable[[StageEvent], None] | None = None) -> SmokeOutcome:
    """The whole pipeline on the committed sample, uncached, into the separate smoke registry of
    `workspace` (`Workspace.for_smoke`); then the registered model is loaded back the way the
    server loads it and checked."""
    from shipyard.pipeline.roundtrip import check_round_trip

    start = time.perf_counter()
    ctx = RunContext(workspace.for_smoke())
    with tempfile.TemporaryDirectory(prefix="shipyard-smoke-") as tmp:
        outcome = _execute(ctx, StageCache(Path(tmp)), on_event)
        difference, contract = check_round_trip(ctx, outcome, on_event=on_event)
    return SmokeOutcome(outcome, time.perf_counter() - start, difference, contract)
