"""`shipyard retrain` and `shipyard watch` on a real project, registry and prediction feedback log."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pandas as pd
import pytest
from cli_helpers import Cli, write_tiny_project

from shipyard.retrain.lock import retrain_lock

TRIGGERS = """\
retrain:
  schedule: "0 3 * * *"
  min_new_labels: 5
"""


@pytest.fixture
def project(tmp_path):
    cli = Cli(write_tiny_project(tmp_path / "tiny", extra_yaml=TRIGGERS))
    cli("schema", "infer", check=0)
    return cli


def _decision(proc: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _send_feedback(root, n: int) -> None:
    folder = root / ".shipyard" / "feedback" / f"date={datetime.now(UTC):%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "row": pd.array([0] * n, dtype="int32"),
            "label": ["1"] * n,
            "ts": pd.Timestamp.now(tz="UTC"),
        }
    )
    frame.to_parquet(folder / f"part-{time.time_ns()}.parquet")


def test_triggers_decide_and_every_decision_is_recorded(project):
    first = _decision(project("retrain", "--if-needed", "--json", check=0))
    assert first["outcome"] == "registered" and first["version"] == "1"
    schedule = next(t for t in first["triggers"] if t["trigger"] == "schedule")
    assert schedule["fired"] and schedule["message"] == "no model has been trained yet"

    quiet = _decision(project("retrain", "--if-needed", "--json", check=0))
    assert quiet["outcome"] == "skipped" and not quiet["retrain"]
    assert {t["trigger"]: t["fired"] for t in quiet["triggers"]} == {"schedule": False, "new_labels": False}

    _send_feedback(project.project, 5)
    labels = _decision(project("retrain", "--if-needed", "--json", check=0))
    fired = {t["trigger"] for t in labels["triggers"] if t["fired"]}
    assert fired == {"new_labels"}
    assert labels["outcome"] == "unchanged"  # same data and code: the pipeline is cached, nothing new ships

    forced = _decision(project("retrain", "--json", check=0))
    assert forced["triggers"][0]["trigger"] == "manual"


def test_a_second_retrain_is_refused_while_one_holds_the_lock(project):
    with retrain_lock(project.project / ".shipyard" / "retrain.lock", purpose="retrain of tiny (test)"):
        proc = project("retrain", "--if-needed", check=1)
    assert "already running" in proc.stderr and "retrain of tiny (test)" in proc.stderr


def test_no_trigger_configured_is_a_usage_error(tmp_path):
    cli = Cli(write_tiny_project(tmp_path / "bare"))
    proc = cli("retrain", "--if-needed", check=2)
    assert "retrain: no trigger is configured" in proc.stderr


def test_watch_runs_cycles_and_stops_cleanly_on_sigterm(project):
    proc = project("watch", "--interval", "0.1", "--max-cycles", "2", check=0)
    assert "cycle 1: registered" in proc.stdout and "cycle 2: skipped" in proc.stdout

    watcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shipyard.cli",
            "watch",
            "--interval",
            "60",
            "--project",
            str(project.project),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while "cycle 1" not in (line := watcher.stdout.readline()) and time.monotonic() < deadline:
            assert line, watcher.stderr.read()
        watcher.send_signal(signal.SIGTERM)
        out, err = watcher.communicate(timeout=60)
    finally:
        watcher.kill()
        watcher.wait()
    assert watcher.returncode == 0, err
    assert "Stopped" in out
