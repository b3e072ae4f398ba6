"""The executor contract without Ray: failures cross a process boundary intact, the local
executor never imports Ray, and the Ray executor's options come from the policy."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shipyard.config.policy import StageResources
from shipyard.core.results import Report
from shipyard.errors import ConfigError, GateFailedError, StageError
from shipyard.pipeline.cache import StageCache
from shipyard.pipeline.executors import Job, StageFailure, run_job
from shipyard.pipeline.runner import Stage

SRC = Path(__file__).resolve().parents[3] / "src"


def test_a_stage_error_survives_pickling_with_its_stage_and_traceback():
    error = StageError(
        "Stage 'train' failed in your code: boom", stage="train", user_code=True, traceback="TB"
    )
    back = pickle.loads(pickle.dumps(StageFailure(error, 1.5)))
    assert isinstance(back.error, StageError) and back.seconds == 1.5
    assert (back.error.stage, back.error.user_code, back.error.traceback) == ("train", True, "TB")
    assert str(back.error) == str(error)


def test_a_gate_failure_keeps_its_report_across_pickling():
    report = Report.of("gates", [])
    back = pickle.loads(pickle.dumps(StageFailure(GateFailedError("no", report), 0.0)))
    assert isinstance(back.error, GateFailedError) and back.error.report == report


def _boom(inputs, out):
    raise KeyError("missing")


def test_run_job_turns_a_crash_into_a_named_shipyard_bug(tmp_path: Path):
    outcome = run_job(Job(Stage("split", _boom), "k" * 64, {}), StageCache(tmp_path), "local")
    assert isinstance(outcome, StageFailure) and isinstance(outcome.error, StageError)
    assert outcome.error.stage == "split" and not outcome.error.user_code
    assert "KeyError" in outcome.error.traceback and "_boom" in outcome.error.traceback


def test_the_local_path_never_imports_ray(tmp_path: Path):
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from shipyard.pipeline.cache import StageCache
        from shipyard.pipeline.runner import Stage, run_stages
        from shipyard.pipeline.executors import LocalExecutor

        def write(inputs, out):
            (out / "v").write_text("x")

        cache = StageCache(Path({str(tmp_path)!r}))
        result = run_stages([Stage("a", write)], cache, executor=LocalExecutor())
        assert result.ran == ["a"]
        print("ray" in sys.modules)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={"PYTHONPATH": str(SRC)}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_ray_options_come_from_the_policy_resources():
    from shipyard.pipeline.ray_executor import RayExecutor

    executor = RayExecutor({"train": StageResources(num_cpus=2, num_gpus=0.5, memory=2**30)})
    assert executor.options("train") == {
        "name": "shipyard:train",
        "max_retries": 0,
        "num_cpus": 2,
        "num_gpus": 0.5,
        "memory": 2**30,
    }
    assert executor.options("split") == {
        "name": "shipyard:split",
        "max_retries": 0,
        "num_cpus": 1,
        "num_gpus": 0,
    }


def test_a_stage_asking_more_than_the_cluster_has_is_refused_by_name():
    from shipyard.pipeline.ray_executor import RayExecutor

    executor = RayExecutor({"train": StageResources(num_gpus=1)})
    job = Job(Stage("train", _boom), "k" * 64, {})
    with pytest.raises(ConfigError, match=r"resources\.train\.num_gpus: the stage asks for 1 GPU .* has 0"):
        executor._check_fits({"CPU": 2.0, "memory": 1e9}, [job])
    RayExecutor()._check_fits({"CPU": 2.0}, [job])  # the default (1 CPU) fits


def test_a_worker_sees_the_drivers_shipyard_variables_then_its_own_again(monkeypatch):
    import os

    from shipyard.pipeline.ray_executor import driver_environment

    monkeypatch.setenv("SHIPYARD_ACTOR", "worker-default")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    monkeypatch.delenv("SHIPYARD_SIGNING_KEY", raising=False)
    with driver_environment({"SHIPYARD_ACTOR": "ci", "SHIPYARD_SIGNING_KEY": "PEM"}):
        assert os.environ["SHIPYARD_ACTOR"] == "ci" and os.environ["SHIPYARD_SIGNING_KEY"] == "PEM"
        assert "MLFLOW_TRACKING_URI" not in os.environ  # the driver had none: neither does the stage
    assert os.environ["SHIPYARD_ACTOR"] == "worker-default"
    assert os.environ["MLFLOW_TRACKING_URI"] == "sqlite:///elsewhere.db"
    assert "SHIPYARD_SIGNING_KEY" not in os.environ
