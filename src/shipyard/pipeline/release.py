"""The last two stages: gate the candidate against policy and production, then register it.

A rejected candidate is still registered (verdict `rejected`, no alias) so the
decision and its evidence are auditable; only invalid data registers nothing. The gate's
output is cached under the candidate's key plus the production model's identity and
content: an unchanged rerun gates nothing, and a new production model regates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.config.settings import actor
from shipyard.core.environment import git_state
from shipyard.core.results import Reason, Report, Severity
from shipyard.errors import GateFailedError, ModelVersionNotFound
from shipyard.pipeline.context import RunContext
from shipyard.pipeline.runner import Stage
from shipyard.pipeline.stages import load_outputs, read_json, read_raw, report_of, save_outputs, test_rows

if TYPE_CHECKING:
    from shipyard.evaluation.outputs import ModelOutputs
    from shipyard.training._servable import Servable

SMOKE_BLOCKING_GATES = frozenset({"output_contract"})
BROKEN_OUTPUTS = frozenset(
    {
        Reason.NAN_PREDICTIONS,
        Reason.WRONG_OUTPUT_SHAPE,
        Reason.WRONG_OUTPUT_DTYPE,
        Reason.PROBABILITY_OUT_OF_RANGE,
    }
)


def _gate(ctx: RunContext, inputs: Mapping[str, Path], out: Path) -> None:
    from shipyard.gates.base import GateContext
    from shipyard.gates.catalog import build_gates
    from shipyard.gates.custom import required_context

    policy = ctx.policy
    gates = build_gates(policy.gates, task=policy.task, project_root=ctx.project.root)
    needs = frozenset().union(*(required_context(gate) for _, gate in gates))
    y_true, candidate = load_outputs(inputs["evaluate"] / "outputs.npz")
    evaluation = read_json(inputs["evaluate"] / "evaluation.json")
    production = _production(ctx, inputs)
    if production is not None:
        save_outputs(out / "baseline_outputs.npz", production.y_true, production.outputs)
        baseline = {"version": production.version, "metrics": production.metrics}
        (out / "baseline.json").write_text(json.dumps(baseline, indent=2, sort_keys=True, default=str))
    gate_ctx = GateContext(
        task=policy.task,
        y_true=y_true,
        candidate=candidate,
        metrics=evaluation["metrics"],
        baseline=production.outputs if production else None,
        baseline_version=production.version if production else None,
        baseline_metrics=production.metrics if production else {},
        performance=evaluation["performance"],
        slices=evaluation["slices"],
        seed=ctx.seed,
        target=policy.data.target,
        split=policy.split,
        project_root=ctx.project.root,
        **_requested_fields(ctx, inputs, needs, production),
    )
    report = _evaluate_gates(ctx, gates, gate_ctx)
    if ctx.smoke:
        report = _advisory_in_smoke(report)
    (out / "gate_report.json").write_text(report.to_json())


def _evaluate_gates(ctx: RunContext, gates: list[tuple[Any, Any]], gate_ctx: Any) -> Report:
    """Every gate, in turn; in a stage running on Ray, each gate as its own Ray task, side by
    side (the report lists them in policy order either way)."""
    from shipyard.gates.catalog import run_gates
    from shipyard.pipeline.executors import current_executor

    if current_executor() != "ray" or len(gates) < 2:
        return run_gates(gates, gate_ctx)
    from shipyard.pipeline.ray_executor import run_gates_on_ray

    refs = [ctx.policy.entrypoints.train, ctx.policy.entrypoints.features, ctx.policy.data.loader]
    refs += [config.type for config in ctx.policy.gates if ":" in config.type]
    modules = sorted({ref.partition(":")[0].partition(".")[0] for ref in refs if ref})
    return run_gates_on_ray(gates, gate_ctx, ctx.project.root, modules)


def gate_stage(ctx: RunContext) -> Stage:
    """Cached by the candidate (upstream keys), the `gates:` section, and `_production_identity`."""
    parts = {"gates": [g.model_dump() for g in ctx.policy.gates], "smoke": ctx.smoke}
    return Stage(
        "gate",
        partial(_gate, ctx),
        deps=("evaluate", "split", "train", "load"),
        key_parts=parts,
        outside=partial(_production_identity, ctx),
    )


def _production_identity(ctx: RunContext) -> dict[str, Any] | None:
    """What the gate compares against: the production version, its content (file digests and
    content key) and how it is checked on load; None when there is no production model."""
    try:
        info = ctx.registry.get("production")
    except ModelVersionNotFound:
        return None
    return {
        "name": info.name,
        "version": info.version,
        "manifest": info.manifest,
        "content_key": info.content_key,
        "on_mismatch": ctx.policy.environment.on_mismatch,
    }


def _requested_fields(
    ctx: RunContext, inputs: Mapping[str, Path], needs: frozenset[str], production: _Production | None
) -> dict[str, Any]:
    """The optional `GateContext` fields some configured gate declared in `needs`: loading
    rows and models costs time, so nothing else is loaded."""
    from shipyard.training.packaging import ModelTrust, load_servable

    model_dir = inputs["train"] / "model"
    trust = ModelTrust.of(ctx.policy)
    fields: dict[str, Any] = {"model_trust": trust}
    if "rows" in needs:
        fields["rows"] = test_rows(inputs)
    if "train_rows" in needs:
        fields["train_rows"] = read_raw(inputs).iloc[np.load(inputs["split"] / "split.npz")["train"]]
    if "model" in needs:
        fields["model"] = load_servable(model_dir, trust)
    if "model_dir" in needs:
        fields["model_dir"] = model_dir
    if "baseline_model" in needs and production is not None:
        fields["baseline_model"] = production.model
    if "baseline_model_dir" in needs and production is not None:
        fields["baseline_model_dir"] = production.path
    if "schema" in needs and ctx.project.schema_path.is_file():
        from shipyard.data.schema import read_schema

        fields["schema"] = read_schema(ctx.project.schema_path)
    return fields


def _advisory_in_smoke(report: Report) -> Report:
    """On the tiny smoke sample only the output contract blocks; quality gates warn."""
    from dataclasses import replace

    results = [
        r if r.evidence.get("gate_type") in SMOKE_BLOCKING_GATES else replace(r, severity=Severity.WARN)
        for r in report.results
    ]
    return Report.of(report.kind, results)


@dataclass(frozen=True)
class _Production:
    """The current production model and its outputs and metrics on this run's test rows."""

    version: str
    model: Servable
    path: Path
    y_true: np.ndarray
    outputs: ModelOutputs
    metrics: dict[str, float]


def _production(ctx: RunContext, inputs: Mapping[str, Path]) -> _Production | None:
    """The `production` model scored on the same test rows, or None when there is none."""
    from shipyard.evaluation.metrics import compute_metrics
    from shipyard.registry.verified import fetch_verified
    from shipyard.training.packaging import ModelTrust, load_servable

    try:
        production = fetch_verified(
            ctx.registry, "production", on_mismatch=ctx.policy.environment.on_mismatch
        )
    except ModelVersionNotFound:
        return None
    rows = test_rows(inputs)
    model = load_servable(production.path, ModelTrust.of(ctx.policy))
    outputs = model.outputs(rows)
    y_true = rows[ctx.policy.data.target].to_numpy()
    metrics = compute_metrics(ctx.policy.task, y_true, outputs, ctx.policy.metrics or None)
    return _Production(production.info.version, model, production.path, y_true, outputs, metrics)


def _register(ctx: RunContext, content_key: str, inputs: Mapping[str, Path], out: Path) -> None:
    """Register the gated candidate once per `content_key`; a rerun finds it and keeps its decision."""
    from shipyard.registry.signing import signing_key

    policy = ctx.policy
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
        from shipyard.data.profile import build_profile, prediction_scores
        from shipyard.pipeline.stages import split_indices

        # Drift monitoring compares live traffic with this profile of the training rows
        # (inputs only) and of the candidate's scores on the test rows.
        raw = read_raw(inputs)
        profile = build_profile(
            raw.iloc[split_indices(ctx, raw)[0]],
            scores=prediction_scores(load_outputs(inputs["evaluate"] / "outputs.npz")[1]),
            exclude=(policy.data.target,),
        )
        reports = {
            "gate_report.json": gate_report.to_json(),
            "data_report.json": (inputs["validate"] / "data_report.json").read_text(),
            "evaluation.json": json.dumps(evaluation, indent=2, sort_keys=True),
            "profile.json": profile.to_json(),
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
            signing_key=signing_key(),
        )
    (out / "gate_report.json").write_text(gate_report.to_json())
    record = {
        "version": info.version,
        "verdict": info.verdict,
        "model": policy.model_name,
        "new": new,
        "signed": info.signature is not None,
    }
    (out / "version.json").write_text(json.dumps({**record, "store": _store_identity(ctx)}))


def _still_registered(ctx: RunContext, out: Path) -> bool:
    return read_json(out / "version.json").get("store") == _store_identity(ctx)


def register_stage(ctx: RunContext, keys_for_content: Mapping[str, str]) -> Stage:
    """`keys_for_content["gate"]` (the candidate and the gates, not production) names the content."""
    parts = {"model": ctx.policy.model_name, "tracking_uri": _tracking_uri(ctx)}
    return Stage(
        "register",
        partial(_register, ctx, keys_for_content["gate"]),
        deps=("load", "validate", "train", "evaluate", "gate"),
        key_parts=parts,
        is_valid=partial(_still_registered, ctx),
    )


def _tracking_uri(ctx: RunContext) -> str:
    return ctx.workspace.tracking_uri


def _store_identity(ctx: RunContext) -> str | None:
    """A local SQLite store's inode: a deleted or recreated store invalidates cached registrations."""
    uri = _tracking_uri(ctx)
    if not uri.startswith("sqlite:///"):
        return uri
    db = Path(uri.removeprefix("sqlite:///"))
    return str(db.stat().st_ino) if db.exists() else None
