"""The full continuous-training loop on the fraud example, as `make demo` runs it: a served model,
an ordinary week of replayed traffic (no retrain), a drifted week (drift detected, the trigger
fires, the model is retrained, gated against production and rolled out under live analysis)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import EXAMPLE

pytestmark = pytest.mark.integration


def test_drift_in_a_replayed_week_retrains_gates_and_rolls_out() -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.run(
        ["bash", str(EXAMPLE / "retrain_demo.sh")], capture_output=True, text=True, env=env, timeout=600
    )
    out = proc.stdout
    assert proc.returncode == 0, f"{out[-4000:]}\nSTDERR:\n{proc.stderr[-4000:]}"
    ordinary, drifted = out.split("Week 6: amounts drifted")
    assert "quiet drift: drift check passed" in ordinary and "Decision: skipped" in ordinary
    assert "FIRED drift:" in drifted and "amount" in drifted
    assert "Decision: rollout_started (version 2)" in drifted
    assert "production: '2'" in drifted and "previous: '1'" in drifted
    assert " 0 failed" in drifted
