"""Load a registered model back the way the server does and check it against training."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from shipyard.core.results import CheckResult, Reason, Report, Status
from shipyard.gates.reproducibility import ROUND_TRIP_TOLERANCE, frame_difference, output_columns
from shipyard.pipeline.context import RunContext
from shipyard.pipeline.runner import StageEvent, StageStatus

if TYPE_CHECKING:
    from shipyard.pipeline.run import RunOutcome


def check_round_trip(
    ctx: RunContext,
    outcome: RunOutcome,
    *,
    on_event: Callable[[StageEvent], None] | None = None,
) -> tuple[float, Report]:
    """Download the registered version (integrity verified), load it with MLflow's pyfunc,
    predict on the sample and compare with the in-memory model; check the output contract."""
    from shipyard.gates.base import GateContext
    from shipyard.gates.contract import OutputContractGate
    from shipyard.registry.verified import fetch_verified
    from shipyard.training._signature import mlflow_example
    from shipyard.training.packaging import ModelTrust, load_pyfunc, load_servable

    start = time.perf_counter()
    target = ctx.policy.data.target
    raw = ctx.raw()
    model_dir = fetch_verified(
        ctx.registry, outcome.version, on_mismatch=ctx.policy.environment.on_mismatch
    ).path
    trust = ModelTrust.of(ctx.policy)
    served = load_pyfunc(model_dir, trust).predict(mlflow_example(raw.drop(columns=[target])))
    servable = load_servable(outcome.pipeline.outputs["train"] / "model", trust)
    in_memory = servable.predict_frame(raw)
    numeric = output_columns(in_memory)
    difference, _, _ = frame_difference(in_memory[numeric], served[numeric].set_axis(in_memory.index))
    outputs = servable.outputs_from_frame(served)
    gate_ctx = GateContext(task=ctx.policy.task, y_true=raw[target].to_numpy(), candidate=outputs, metrics={})
    # The project's own output contract options (e.g. one predicted class allowed for rare
    # positives), so smoke never passes a contract in the gates and fails it here, or back.
    contract = next((g.params for g in ctx.policy.gates if g.type == OutputContractGate.type_name), {})
    results = [OutputContractGate(**contract).evaluate(gate_ctx)]
    if difference > ROUND_TRIP_TOLERANCE:
        results.append(
            CheckResult(
                check="serialization_round_trip",
                status=Status.FAILED,
                reason=Reason.ROUND_TRIP_MISMATCH,
                observed=difference,
                expected=f"<= {ROUND_TRIP_TOLERANCE}",
                message=(
                    f"The registered model loaded through MLflow differs from the trained model by "
                    f"{difference:.3g} (tolerance {ROUND_TRIP_TOLERANCE}); serving would not "
                    "reproduce training."
                ),
            )
        )
    if on_event is not None:
        on_event(StageEvent("load-back", StageStatus.RAN, time.perf_counter() - start))
    return difference, Report.of("smoke checks", results)
