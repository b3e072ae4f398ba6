"""SIGTERM (a CI job cancelled) mid-stage: exit 130, nothing half-written, a clean rerun."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cli_helpers import Cli, write_tiny_project

SLOW_MODEL = """\
import pathlib
import time

import pandas as pd
from sklearn.linear_model import LogisticRegression


def features(df):
    return pd.DataFrame({"x1": df.x1, "x2": df.x2})


def train(X, y, params):
    marker = pathlib.Path("training.started")
    if not marker.exists():
        marker.write_text("now")
        time.sleep(60)
    return LogisticRegression().fit(X, y)
"""


def test_sigterm_during_train_rolls_back_and_rerun_is_clean(tmp_path: Path):
    cli = Cli(write_tiny_project(tmp_path / "p", model_py=SLOW_MODEL))
    cli("schema", "infer", check=0)
    env = {**os.environ, "SHIPYARD_ACTOR": "ci-test"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipyard.cli", "run"],
        cwd=cli.project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    marker = cli.project / "training.started"
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.exists(), "train never started"
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Interrupted" in stderr
    train_cache = cli.project / ".shipyard" / "cache" / "train"
    assert not train_cache.exists() or not any(train_cache.iterdir())  # no entry, no temp folder
    rerun = cli("run", check=0)  # the marker exists now, so train returns at once
    assert "version 1: approved" in rerun.stdout
