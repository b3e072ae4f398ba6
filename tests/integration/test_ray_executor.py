"""`executor: ray` on a real local Ray instance: the same results, keys and exit codes as the
local executor, stages in Ray worker processes, and one cache whichever executor filled it.

Ray starts once for the module (it costs seconds); the CLI subprocesses join it through
RAY_ADDRESS instead of starting their own.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from cli_helpers import Cli, copy_example, write_tiny_project

from shipyard.config.project import Project
from shipyard.pipeline.executors import STAGE_METADATA
from shipyard.pipeline.run import run_pipeline
from shipyard.pipeline.runner import StageStatus
from shipyard.pipeline.stages import STAGE_NAMES
from shipyard.workspace import Workspace

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def ray_address():
    from shipyard.core.distributed import connect_ray

    with pytest.MonkeyPatch.context() as env:
        env.setenv("SHIPYARD_ACTOR", "ray-cluster")  # the workers' own; a run's driver passes its own
        ray = connect_ray(num_cpus=2)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def _checks(outcome) -> list[tuple[str, str]]:
    return [(r.check, r.status) for r in outcome.gate_report.results]


def test_ray_gives_the_local_results_and_keys_and_shares_the_cache(tmp_path: Path, ray_address: str):
    from shipyard.api import infer_project_schema

    root = copy_example(tmp_path / "fraud", rows=4_000)
    # Every gate but `performance`, whose latencies are measurements that differ between any
    # two runs (on a busy machine, across its threshold): the others must agree exactly.
    policy = yaml.safe_load((root / "shipyard.yaml").read_text())
    policy["gates"] = [gate for gate in policy["gates"] if gate["type"] != "performance"]
    (root / "shipyard.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    infer_project_schema(Workspace.open(Project.load(root)))
    local = run_pipeline(Workspace.open(Project.load(root)))
    assert local.pipeline.ran == list(STAGE_NAMES)
    shutil.move(root / ".shipyard", tmp_path / "local-state")  # a fresh cache and registry

    on_ray = run_pipeline(Workspace.open(Project.load(root)), executor="ray")
    assert on_ray.pipeline.ran == list(STAGE_NAMES)
    assert on_ray.pipeline.keys == local.pipeline.keys
    assert on_ray.pipeline.cache_keys == local.pipeline.cache_keys
    assert on_ray.evaluation["metrics"] == local.evaluation["metrics"]
    assert _checks(on_ray) == _checks(local)
    assert (on_ray.version, on_ray.verdict) == (local.version, local.verdict)
    for stage in STAGE_NAMES:
        produced = json.loads((on_ray.pipeline.outputs[stage] / STAGE_METADATA).read_text())
        assert produced["executor"] == "ray" and produced["pid"] != os.getpid(), stage

    # The cache Ray filled serves a local rerun in full, and the other way round.
    again = run_pipeline(Workspace.open(Project.load(root)))
    assert [e.status for e in again.pipeline.events] == [StageStatus.CACHED] * len(STAGE_NAMES)
    assert (again.version, again.new_version) == ("1", False)
    shutil.rmtree(root / ".shipyard")
    shutil.move(tmp_path / "local-state", root / ".shipyard")
    back = run_pipeline(Workspace.open(Project.load(root)), executor="ray")
    assert [e.status for e in back.pipeline.events] == [StageStatus.CACHED] * len(STAGE_NAMES)


def test_the_cli_on_ray_registers_with_the_drivers_settings(tmp_path: Path, ray_address: str, monkeypatch):
    cli = Cli(write_tiny_project(tmp_path / "tiny", extra_yaml="executor: ray\n"))
    cli("schema", "infer", check=0)
    monkeypatch.setenv("RAY_ADDRESS", ray_address)
    assert "version 1: approved (alias candidate)" in cli("run", check=0).stdout
    history = cli("history", check=0).stdout  # the CLI's SHIPYARD_ACTOR, not the workers' own
    assert "ci-test" in history and "ray-cluster" not in history


FAILING_TRAIN = """\
import pandas as pd


def features(df):
    return pd.DataFrame({"x1": df.x1, "x2": df.x2})


def train(X, y, params):
    raise ValueError("no convergence in this fold")
"""


def test_a_stage_failing_on_a_worker_is_reported_as_locally(tmp_path: Path, ray_address: str, monkeypatch):
    # The project asks for Ray (with per-stage resources); --executor local overrides it.
    extra = "executor: ray\nresources:\n  train: {num_cpus: 1, memory: 100000000}\n"
    cli = Cli(write_tiny_project(tmp_path / "tiny", model_py=FAILING_TRAIN, extra_yaml=extra))
    cli("schema", "infer", check=0)
    monkeypatch.setenv("RAY_ADDRESS", ray_address)
    on_ray = cli("run", check=3)
    local = cli("run", "--executor", "local", check=3)
    for proc in (on_ray, local):
        assert "Stage 'train' crashed in your code" in proc.stderr
        assert 'raise ValueError("no convergence in this fold")' in proc.stderr  # the user's traceback
        assert "model.py" in proc.stderr
    assert on_ray.stderr == local.stderr


def test_a_misspelled_stage_in_resources_is_a_usage_error(tmp_path: Path):
    cli = Cli(write_tiny_project(tmp_path / "tiny", extra_yaml="resources:\n  trian: {num_cpus: 1}\n"))
    cli("schema", "infer", check=0)
    proc = cli("run", check=2)
    assert "resources.trian: 'trian' is not a stage of 'shipyard run'. Did you mean 'train'?" in proc.stderr
