"""The last two stages: gate the candidate against policy and production, then register it.

A rejected candidate is still registered (verdict `rejected`, no alias) so the
decision and its evidence are auditable; only invalid data registers nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.config.settings import actor
from shipyard.core.environment import git_state
from shipyard.core.results import Reason, Report, Severity
from shipyard.errors import GateFailedError, ModelVersionNotFound
from shipyard.pipeline.context import RunContext
from shipyard.pipeline.runner import Stage
from shipyard.pipeline.stages import load_outputs, read_json, report_of, test_rows

if TYPE_CHECKING:
    from shipyard.evaluation.outputs import ModelOutputs

SMOKE_BLOCKING_GATES = frozenset({"output_contract"})
BROKEN_OUTPUTS = frozenset(
    {
        Reason.NAN_PREDICTIONS,
        Reason.WRONG_OUTPUT_SHAPE,
        Reason.WRONG_OUTPUT_DTYPE,
        Reason.PROBABILITY_OUT_OF_RANGE,
    }
)


def gate_stage(ctx: RunContext) -> Stage:
    policy = ctx.policy

    def run(inputs: Mapping[str, Path], out: Path) -> None:
        from shipyard.gates.base import GateContext
        from shipyard.gates.catalog import build_gates, run_gates

        gates = build_gates(policy.gates, task=policy.task)
        y_true, candidate = load_outputs(inputs["evaluate"] / "outputs.npz")
        evaluation = read_json(inputs["evaluate"] / "evaluation.json")
        baseline, baseline_version, baseline_metrics = None, None, {}
        if any(config.type == "no_regression" for config, _ in gates):
            baseline, baseline_version, baseline_metrics = _production_outputs(ctx, inputs["split"])
        gate_ctx = GateContext(
            task=policy.task,
            y_true=y_true,
            candidate=candidate,
            metrics=evaluation["metrics"],
            baseline=baseline,
            baseline_version=baseline_version,
            baseline_metrics=baseline_metrics,
            performance=evaluation["performance"],
            slices=evaluation["slices"],
            seed=ctx.seed,
        )
        report = run_gates(gates, gate_ctx)
        if ctx.smoke:
            report = _advisory_in_smoke(report)
        (out / "gate_report.json").write_text(report.to_json())

    parts = {"gates": [g.model_dump() for g in policy.gates], "smoke": ctx.smoke}
    return Stage("gate", run, deps=("evaluate", "split"), key_parts=parts, cacheable=False)


def _advisory_in_smoke(report: Report) -> Report:
    """On the tiny smoke sample only the output contract blocks; quality gates warn."""
    from dataclasses import replace

    results = [
        r if r.evidence.get("gate_type") in SMOKE_BLOCKING_GATES else replace(r, severity=Severity.WARN)
        for r in report.results
    ]
    return Report.of(report.kind, results)


def _production_outputs(
    ctx: RunContext, split_dir: Path
) -> tuple[ModelOutputs | None, str | None, dict[str, float]]:
    """Outputs of the current production model on the same test rows, or Nones."""
    from shipyard.evaluation.metrics import compute_metrics
    from shipyard.registry.verified import fetch_verified
    from shipyard.training.packaging import load_servable

    try:
        production = fetch_verified(
            ctx.registry, "production", on_mismatch=ctx.policy.environment.on_mismatch
        )
    except ModelVersionNotFound:
        return None, None, {}
    info, model_dir = production.info, production.path
    rows = test_rows(ctx, split_dir)
    outputs = load_servable(model_dir).outputs(rows)
    y_true = rows[ctx.policy.data.target].to_numpy()
    metrics = compute_metrics(ctx.policy.task, y_true, outputs, ctx.policy.metrics or None)
    return outputs, info.version, metrics


def register_stage(ctx: RunContext, keys_for_content: Mapping[str, str]) -> Stage:
    policy = ctx.policy

    def run(inputs: Mapping[str, Path], out: Path) -> None:
        gate_report = report_of(inputs["gate"] / "gate_report.json")
        broken = [r for r in gate_report.failures if r.reason in BROKEN_OUTPUTS]
        if broken:
            # A model whose outputs break the contract (NaN, wrong shape, probabilities
            # outside [0, 1]) is not a candidate at all: nothing is registered.
            raise GateFailedError(
                f"{gate_report.headline()}; the model's outputs are broken, so nothing was "
                f"registered:\n" + "\n".join(f"  - {r.message}" for r in broken),
                gate_report,
            )
        content_key = keys_for_content["gate"]
        registry = ctx.registry
        info = registry.find_by_content_key(content_key)
        new = info is None
        if info is not None:
            # Same content, registered before: its recorded decision stands, with its evidence.
            recorded = registry.report_text(info.version, "gate_report.json")
            gate_report = Report.from_dict(json.loads(recorded))
        else:
            evaluation = read_json(inputs["evaluate"] / "evaluation.json")
            train = read_json(inputs["train"] / "train.json")
            git = git_state(ctx.project.root)
            tags = {
                "shipyard.data_digest": ctx.data_digest,
                "shipyard.seed": str(ctx.seed),
                "shipyard.smoke": str(ctx.smoke).lower(),
                "shipyard.gates": gate_report.headline(),
                "git.commit": str(git.get("commit")),
                "git.dirty": str(git.get("dirty")),
                "git.branch": str(git.get("branch")),
            }
            metrics = {k: v for k, v in evaluation["metrics"].items() if isinstance(v, int | float)}
            metrics.update({k: v for k, v in evaluation["performance"].items()})
            reports = {
                "gate_report.json": gate_report.to_json(),
                "data_report.json": (inputs["validate"] / "data_report.json").read_text(),
                "evaluation.json": json.dumps(evaluation, indent=2, sort_keys=True),
            }
            info = registry.register(
                inputs["train"] / "model",
                params={**train["params"], "seed": train["seed"]},
                metrics=metrics,
                tags=tags,
                approved=gate_report.passed,
                reports=reports,
                content_key=content_key,
                actor=actor(),
            )
        (out / "gate_report.json").write_text(gate_report.to_json())
        record = {"version": info.version, "verdict": info.verdict, "model": policy.model_name, "new": new}
        (out / "version.json").write_text(json.dumps({**record, "store": _store_identity(ctx)}))

    def still_registered(out: Path) -> bool:
        return read_json(out / "version.json").get("store") == _store_identity(ctx)

    parts = {"model": policy.model_name, "tracking_uri": _tracking_uri(ctx)}
    return Stage(
        "register",
        run,
        deps=("validate", "train", "evaluate", "gate"),
        key_parts=parts,
        is_valid=still_registered,
    )


def _tracking_uri(ctx: RunContext) -> str:
    return ctx.project.store(smoke=ctx.smoke).tracking_uri


def _store_identity(ctx: RunContext) -> str | None:
    """A local SQLite store's inode: a deleted or recreated store invalidates cached registrations."""
    uri = _tracking_uri(ctx)
    if not uri.startswith("sqlite:///"):
        return uri
    db = Path(uri.removeprefix("sqlite:///"))
    return str(db.stat().st_ino) if db.exists() else None
