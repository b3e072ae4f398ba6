"""Two `shipyard run` at once on a new project: the embedded MLflow store is created once, and
both runs and every later one work (two racing schema migrations once broke it for good)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import Cli, write_tiny_project

pytestmark = pytest.mark.integration


def test_two_first_runs_at_once_on_a_new_embedded_store_both_succeed(tmp_path: Path) -> None:
    cli = Cli(write_tiny_project(tmp_path / "p"))
    cli("schema", "infer", check=0)
    env = {**os.environ, "SHIPYARD_ACTOR": "ci-test", "NO_COLOR": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    cmd = [sys.executable, "-m", "shipyard.cli", "run", "--project", str(cli.project)]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    cli("run", check=0)
    assert "1" in cli("models", check=0).stdout
