"""The desired state and the retrain lease across machines, on real shared services (PostgreSQL,
S3 emulator, `mlflow server`): clones A and B and a fresh folder C stand for three machines."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cli_helpers import write_tiny_project
from serve_helpers import Server, record
from team_helpers import services, team_clone

from shipyard.workspace.desired import DesiredLog

pytestmark = [pytest.mark.integration, pytest.mark.services]

#: a first step with canary traffic, held (nobody drives it: `--no-wait`)
ROLLOUT = "rollout:\n  steps: [50, 100]\n  step_duration_s: 3600\n"
#: `serving.desired_poll_s` (the default): the bound within which a server sees a new revision
POLL_S = 2.0


def _routes(url: str, n: int = 40) -> dict[str, str]:
    """The route and version each of `n` sticky keys is served by: {key: 'canary 2'}."""
    seen = {}
    with httpx.Client(base_url=url, timeout=10) as client:
        for i in range(n):
            response = client.post("/predict", json=[record(i)], headers={"x-request-key": f"user-{i}"})
            assert response.status_code == 200, response.text
            seen[f"user-{i}"] = f"{response.headers['x-route']} {response.headers['x-model-version']}"
    return seen


def test_an_abort_in_one_clone_reverts_a_stateless_replica_in_a_fresh_folder(
    tmp_path: Path, team_services: services.Services
) -> None:
    svc, model = team_services, "team-desired"
    a = team_clone(tmp_path / "a", svc, model, extra_yaml=ROLLOUT)
    a("run", check=0)
    a("promote", "1", "--to", "production", check=0)
    policy = a.project / "shipyard.yaml"
    policy.write_text(policy.read_text().replace("params: {C: 1.0}", "params: {C: 0.05}"))
    a("run", check=0)  # version 2, the candidate
    started = a("rollout", "start", "2", "--no-wait", check=0)
    assert "steps 50%, 100%" in started.stdout

    # C: a folder with the project files only (no deploy file, no .shipyard/); the backends
    # come from the environment, as a container's do
    c = write_tiny_project(tmp_path / "c", extra_yaml=f"registry:\n  model_name: {model}\n")
    env = {"MLFLOW_TRACKING_URI": svc.tracking_uri, "SHIPYARD_STATE_URL": svc.state_url}
    with Server(c, args=("--desired", "state"), env=env) as server:
        described = httpx.get(f"{server.url}/v1/models").json()
        assert described["canary"]["version"] == "2" and described["canary"]["weight"] == 0.5
        assert (described["desired_file"], described["desired_environment"]) == (None, "production")
        assert {"canary 2", "production 1"} == set(_routes(server.url).values())

        b = team_clone(tmp_path / "b", svc, model, extra_yaml=ROLLOUT)  # never ran anything
        aborted = b("rollout", "abort", "--reason", "seen from clone B", check=0)
        assert "aborted; all traffic on version 1" in aborted.stdout
        asked = time.monotonic()
        while httpx.get(f"{server.url}/v1/models").json().get("canary") is not None:
            assert time.monotonic() - asked < POLL_S + 5, "C still routes to the canary"
            time.sleep(0.1)
        assert set(_routes(server.url).values()) == {"production 1"}
        server.stop()

    assert not (c / "deploy").exists()
    newest = DesiredLog(svc.state_url, model, "production").latest()
    assert newest is not None and newest.state.canary is None and newest.actor == "ci-test"
    assert "abort rollout" in newest.reason and newest.reason.endswith("seen from clone B")
    # B's folder now has the reverted deploy file; A's follows at its next rollout command
    assert "canary" not in (b.project / "deploy" / "production.yaml").read_text()
    status = " ".join(a("rollout", "status", check=0).stdout.split())
    assert "aborted" in status and f"Desired state revision {newest.number}" in status
    assert "by ci-test: abort rollout" in status and "seen from clone B" in status


def test_two_watchers_on_two_clones_retrain_once(tmp_path: Path, team_services: services.Services) -> None:
    from mlflow import MlflowClient

    svc, model = team_services, "team-watch"
    schedule = "retrain:\n  schedule: '0 3 * * *'\n"  # fires at once: no model was trained yet
    clones = [team_clone(tmp_path / name, svc, model, extra_yaml=schedule) for name in ("a", "b")]
    watchers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shipyard.cli",
                "watch",
                "--max-cycles",
                "1",
                "--project",
                str(cli.project),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**_env(), "SHIPYARD_ACTOR": f"watcher-{i}"},
            cwd=cli.project,
        )
        for i, cli in enumerate(clones)
    ]
    outputs = [" ".join(w.communicate(timeout=240)[0].split()) for w in watchers]
    assert [w.returncode for w in watchers] == [0, 0], outputs
    trained = [o for o in outputs if "cycle 1: registered" in o]
    busy = [o for o in outputs if "cycle 1: skipped" in o and "already running" in o]
    assert len(trained) == 1 and len(busy) == 1, outputs
    assert "retrain of team-watch" in busy[0]
    versions = MlflowClient(svc.tracking_uri).search_model_versions(f"name='{model}'")
    assert [v.version for v in versions] == ["1"]


def _env() -> dict[str, str]:
    import os

    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    for name in ("MLFLOW_TRACKING_URI", "SHIPYARD_STATE_URL"):  # each clone's yaml names its services
        env.pop(name, None)
    return env
