"""Rollouts end to end: a real server process, real HTTP traffic, the real registry and CLI.

One project holds four registered versions: 1 in production, 2 as accurate but three times
slower, 3 as good as 1, 4 as good as 1 but failing 20% of its calls when served. The tests
run in file order on that shared project and each leaves production on version 1 with no
rollout active.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cli_helpers import Cli, write_tiny_project

from shipyard.config.project import Project
from shipyard.delivery.state import RolloutStore
from shipyard.serving.desired import read_desired
from shipyard.workspace import Workspace

DELAYED_MODEL = """\
import random
import sys
import time

import pandas as pd
from sklearn.linear_model import LogisticRegression


class Delayed:
    \"\"\"A fitted model whose every prediction takes `delay` seconds more and, inside
    `shipyard serve` only (so its gates pass), fails a share `fail` of its calls.\"\"\"

    def __init__(self, model, delay, fail):
        self.model = model
        self.delay = delay
        self.fail = fail
        self.classes_ = model.classes_

    def _call(self):
        time.sleep(self.delay)
        if "serve" in sys.argv and random.random() < self.fail:
            raise RuntimeError("injected model failure")

    def predict(self, X):
        self._call()
        return self.model.predict(X)

    def predict_proba(self, X):
        self._call()
        return self.model.predict_proba(X)


def features(df):
    return pd.DataFrame({"x1": df.x1, "x2": df.x2, "g": (df.color == "g").astype(int)})


def train(X, y, params):
    return Delayed(LogisticRegression(C=params["C"]).fit(X, y), params["delay"], params.get("fail", 0.0))
"""

# Per-call overhead (features, pandas) is ~10-20 ms on a busy 2-core runner, so the delays are
# large enough that version 2's model calls take well over 1.5x version 1's at the median.
ROLLOUT = """\
evaluation: {latency_samples: 10, warmup: 0}
model_format: {trusted_types: [model.Delayed]}
rollout:
  steps: [20, 50, 100]
  step_duration_s: 3
  step_deadline_s: 40
  analysis_interval_s: 1
  min_requests: 10
  consecutive_violations: 2
  analysis:
    - {type: error_rate, max_increase: 0.05}
    - {type: latency_ratio, percentile: 50, max_ratio: 1.5}
"""
PARAMS = {"1": "{C: 1.0, delay: 0.03}", "2": "{C: 1.0, delay: 0.09}"}
ERRORING = "{C: 1.0, delay: 0.03, fail: 0.2}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Versions 1 (production) and 2 (three times slower) registered by `shipyard run`; version 3,
    as good as 1, registers 1's files again (a second run would only cost time)."""
    root = write_tiny_project(
        tmp_path_factory.mktemp("rollout") / "tiny", model_py=DELAYED_MODEL, extra_yaml=ROLLOUT
    )
    cli = Cli(root)
    cli("schema", "infer", check=0)
    policy = (root / "shipyard.yaml").read_text()
    for version, params in PARAMS.items():
        (root / "shipyard.yaml").write_text(policy.replace("params: {C: 1.0}", f"params: {params}"))
        assert f"version {version}: approved" in cli("run", check=0).stdout
    registry = Workspace.open(Project.load(root)).registry
    try:
        first = registry.get("1")
        files = registry.download("1")
        info = registry.register(
            files,
            params=first.params,
            metrics=first.metrics,
            tags={},
            approved=True,
            reports={},
            content_key="copy-of-version-1",
            actor="ci-test",
        )
        assert info.version == "3"
    finally:
        registry.close()
    (root / "shipyard.yaml").write_text(policy.replace("params: {C: 1.0}", f"params: {ERRORING}"))
    assert "version 4: approved" in cli("run", check=0).stdout
    cli("promote", "1", "--to", "production", check=0)
    (root / "deploy").mkdir()
    (root / "deploy" / "production.yaml").write_text('model: tiny\nproduction: "1"\n')
    return root


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[str]:
    """`shipyard serve --desired deploy/production.yaml` on a free loopback port."""
    port = _free_port()
    env = {**os.environ, "SHIPYARD_ACTOR": "ci-test", "OMP_NUM_THREADS": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [sys.executable, "-m", "shipyard.cli", "serve", "--desired", "deploy/production.yaml"]
    log_path = project / "server.log"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen(
            [*command, "--port", str(port)], cwd=project, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"the server exited: {log_path.read_text()}"
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail(f"the server was not ready within 120 s: {log_path.read_text()}")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Replay:
    """`shipyard traffic replay` in the background until `result()` stops it."""

    def __init__(self, project: Path, url: str, seconds: float) -> None:
        command = [sys.executable, "-m", "shipyard.cli", "traffic", "replay", "data.csv", "--url", url]
        command += ["--rps", "40", "--duration", str(seconds), "--json", "--project", str(project)]
        self.proc = subprocess.Popen(
            command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def __enter__(self) -> Replay:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()

    def result(self, *, failures: bool = False) -> dict:
        """Stop the replay (SIGINT ends it early with its summary) and return the summary;
        its exit code is 1 when some request failed, as `failures` expects."""
        time.sleep(1)  # traffic goes on a moment after the rollout's last change
        self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=60)
        expected = 1 if failures else 0
        assert self.proc.returncode == expected, f"replay exit {self.proc.returncode}\n{out}\n{err}"
        return json.loads(out.strip().splitlines()[-1])


def _aliases(cli: Cli) -> dict[str, str]:
    rows = [json.loads(line) for line in cli("history", "--json", check=0).stdout.splitlines()]
    current: dict[str, str] = {}
    for row in rows:
        if row["to_version"] == "-":
            current.pop(row["alias"], None)
        else:
            current[row["alias"]] = row["to_version"]
    return current


def _status(cli: Cli) -> dict:
    return json.loads(cli("rollout", "status", "--json", check=0).stdout)


def test_a_three_times_slower_candidate_is_rolled_back_with_no_failed_request(project, server):
    cli = Cli(project)
    with Replay(project, server, seconds=300) as traffic:
        proc = cli("rollout", "start", "2", check=1)
        summary = traffic.result()
    assert "rolled back" in proc.stderr and "latency_p50 model time" in proc.stderr
    desired = read_desired(project / "deploy" / "production.yaml")
    assert (desired.production, desired.canary) == ("1", None)
    assert _aliases(cli)["rejected"] == "2" and _aliases(cli)["production"] == "1"
    status = _status(cli)
    assert status["rollout"]["status"] == "rolled_back" and status["rollout"]["step"] == 0
    (incident,) = status["incidents"]
    assert incident["evidence"]["fired"] == ["latency_ratio"]
    figures = incident["evidence"]["figures"]
    assert figures["latency_p50_ms"] > 1.5 * figures["baseline_latency_p50_ms"]
    assert summary["failed"] == 0 and summary["ok"] == summary["sent"] > 0
    assert set(summary["versions"]) == {"1", "2"}


def test_a_good_candidate_survives_a_killed_controller_reaches_production_and_rolls_back(project, server):
    cli = Cli(project)
    command = [sys.executable, "-m", "shipyard.cli", "rollout", "start", "3", "--project", str(project)]
    store = RolloutStore(f"sqlite:///{project / '.shipyard' / 'shipyard.db'}")
    with Replay(project, server, seconds=300) as traffic:
        controller = subprocess.Popen(
            command, cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 60
            while (store.active("tiny", "production") or store.latest("tiny", "production")).step < 1:
                assert time.monotonic() < deadline and controller.poll() is None, "never reached step 2"
                time.sleep(0.2)
            controller.send_signal(signal.SIGKILL)
        finally:
            if controller.poll() is None:
                controller.kill()
            controller.wait()
        killed_at = store.active("tiny", "production")
        assert killed_at is not None and killed_at.step == 1
        # the step is persisted before the deploy file changes: a kill in between leaves 20%,
        # and the resumed controller applies 50% on its first tick
        assert read_desired(project / "deploy" / "production.yaml").canary.weight in (0.2, 0.5)

        resumed = cli("rollout", "start", "3", check=0)
        assert f"Resuming rollout {killed_at.id}" in resumed.stdout
        actions = [e.action for e in store.events(killed_at.id)]
        store.close()
        summary = traffic.result()
    assert actions.count("start") == 1 and actions.count("resume") == 1
    assert actions[actions.index("resume") + 1 :].count("advance") == 1  # only 50% -> 100% was left
    desired = read_desired(project / "deploy" / "production.yaml")
    assert (desired.production, desired.previous, desired.canary) == ("3", "1", None)
    aliases = _aliases(cli)
    assert (aliases["production"], aliases["previous"]) == ("3", "1")
    assert summary["failed"] == 0

    cli("rollback", "--reason", "test: back to the old model", check=0)
    desired = read_desired(project / "deploy" / "production.yaml")
    assert (desired.production, desired.previous) == ("1", None)
    assert _aliases(cli)["production"] == "1"


def test_an_erroring_candidate_is_rolled_back_by_its_error_rate(project, server):
    cli = Cli(project)
    with Replay(project, server, seconds=300) as traffic:
        proc = cli("rollout", "start", "4", check=1)
        summary = traffic.result(failures=True)
    assert "rolled back" in proc.stderr and "error_rate" in proc.stderr
    status = _status(cli)
    assert status["rollout"]["status"] == "rolled_back"
    (incident,) = status["incidents"]
    assert "error_rate" in incident["evidence"]["fired"]
    figures = incident["evidence"]["figures"]
    assert 0.05 < figures["error_rate"] < 0.5 and figures["baseline_error_rate"] == 0
    assert _aliases(cli)["rejected"] == "4" and _aliases(cli)["production"] == "1"
    assert (read_desired(project / "deploy" / "production.yaml").canary) is None
    # every failed request was the canary's: production answered all of its requests
    assert 0 < summary["failed"] < summary["sent"] and summary["versions"]["1"] > 0


def test_bad_rollout_requests_are_refused_with_the_fix(project, capsys):
    # in process: the exit-code mapping of the real CLI, without four more interpreter starts
    from shipyard.cli.main import run_cli

    where = ["--project", str(project)]
    assert run_cli(["rollout", "start", "99", *where]) == 2
    assert "99" in capsys.readouterr().err
    assert run_cli(["rollout", "start", "3", "--no-wait", *where]) == 0
    try:
        assert run_cli(["rollout", "start", "2", *where]) == 1
        refused = " ".join(capsys.readouterr().err.split())
        assert re.search(r"Rollout \d+ of version 3 of model 'tiny' is running", refused)
        assert "shipyard rollout abort" in refused
    finally:
        assert run_cli(["rollout", "abort", "--reason", "test cleanup", *where]) == 0
    assert read_desired(project / "deploy" / "production.yaml").canary is None
