"""`shipyard retrain` and `shipyard watch`: continuous training on triggers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shipyard.cli._common import ProjectOption, console, open_workspace


def retrain(
    if_needed: Annotated[
        bool, typer.Option("--if-needed", help="Retrain only when a trigger in retrain: fires.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the recorded decision as JSON.")] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Evaluate the triggers, retrain, gate, and register or roll out per retrain.on_pass."""
    import json

    from shipyard.retrain.loop import retrain_if_needed

    outcome = retrain_if_needed(open_workspace(project), force=not if_needed, on_message=console.print)
    decision = outcome.decision
    if as_json:
        print(json.dumps(decision.to_dict(), sort_keys=True))
    else:
        version = f" (version {decision.version})" if decision.version else ""
        console.print(f"Decision: [bold]{decision.outcome}[/]{version}")
    if outcome.run is not None and decision.outcome == "rejected":
        outcome.run.gate_report.raise_for_status()


def watch(
    interval: Annotated[
        float | None, typer.Option(help="Seconds between evaluations; default retrain.interval_s.")
    ] = None,
    max_cycles: Annotated[int | None, typer.Option(help="Stop after this many evaluations.")] = None,
    project: ProjectOption = Path("."),
) -> None:
    """Evaluate the retrain triggers on an interval until stopped (Ctrl-C or SIGTERM)."""
    import threading

    from shipyard.retrain.loop import watch as watch_loop

    workspace = open_workspace(project)
    policy = workspace.project.policy
    every = interval if interval is not None else policy.retrain.interval_s
    console.print(f"Watching {policy.model_name}: triggers every {every:g} s. Stop with Ctrl-C.")
    stop = threading.Event()
    try:
        watch_loop(workspace, interval_s=every, stop=stop, max_cycles=max_cycles, on_message=console.print)
    except KeyboardInterrupt:
        stop.set()
        console.print("Stopped; no retrain was left half-done (the lock is released).")
