"""The pytest plugin and the `pytest` gate on a real project trained with the real CLI.

One `shipyard run` with a `pytest` gate proves the gate tests the unregistered
candidate; plain `pytest` in the project then tests the registered model.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_helpers import Cli, write_tiny_project

from shipyard.config.project import Project
from shipyard.core.results import Reason, Status
from shipyard.gates.base import GateContext
from shipyard.gates.pytest_gate import PytestGate
from shipyard.pipeline.stages import load_outputs
from shipyard.testing.pytest_plugin import ModelLoader
from shipyard.workspace import Workspace

pytestmark = pytest.mark.integration

MODEL_TESTS = """\
import os


def test_scores_are_probabilities(shipyard_model, shipyard_test_split):
    scores = shipyard_model.outputs(shipyard_test_split).y_score
    assert ((scores >= 0) & (scores <= 1)).all()


def test_x1_raises_the_score(shipyard_model, shipyard_test_split):
    low = shipyard_model.outputs(shipyard_test_split.assign(x1=-2.0)).y_score[:, 1]
    high = shipyard_model.outputs(shipyard_test_split.assign(x1=2.0)).y_score[:, 1]
    assert (high > low).all()


def test_the_fixtures_agree(shipyard_policy, shipyard_model_ref, shipyard_test_split, shipyard_models):
    assert shipyard_policy.name == "tiny"
    assert len(shipyard_test_split) == 100
    expected = os.environ.get("SHIPYARD_MODEL_DIR") or "1"
    assert shipyard_model_ref == expected
    if "SHIPYARD_MODEL_DIR" not in os.environ:
        assert shipyard_models.resolve("production", fallback="latest")[0] == "1"
"""

GATE = """\
gates:
  - {type: pytest, path: tests/model}
  - {type: output_contract}
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    root = write_tiny_project(tmp_path_factory.mktemp("plugin") / "tiny", extra_yaml=GATE)
    (root / "tests" / "model").mkdir(parents=True)
    (root / "tests" / "model" / "test_behaviour.py").write_text(MODEL_TESTS)
    cli = Cli(root)
    cli("schema", "infer", check=0)
    run = cli("run", check=0)
    assert "3 of 3 tests passed (100.0%) -> PASS" in " ".join(run.stdout.split()), run.stdout
    return cli


def _pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SHIPYARD_MODEL_DIR", "MLFLOW_TRACKING_URI")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/model", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_plain_pytest_tests_the_registered_candidate(trained: Cli):
    proc = _pytest(trained.project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout


def test_an_unknown_version_is_a_clear_failure(trained: Cli):
    loader = ModelLoader(Workspace.open(Project.load(trained.project)))
    with pytest.raises(pytest.fail.Exception, match=r"shipyard: cannot load model '99' .+ Versions: 1"):
        loader("99")
    assert loader.resolve("candidate")[0] == "1"
    assert loader("latest") is loader("1"), "one version is loaded once, whatever names it"


def test_the_gate_reports_failing_model_tests_with_examples(trained: Cli):
    failing = trained.project / "tests" / "failing"
    failing.mkdir()
    (failing / "test_strict.py").write_text(
        textwrap.dedent(
            """\
            def test_always_confident(shipyard_model, shipyard_test_split):
                scores = shipyard_model.outputs(shipyard_test_split).y_score.max(axis=1)
                assert scores.min() > 0.99, f"least confident score {scores.min():.3f}"
            """
        )
    )
    workspace = Workspace.open(Project.load(trained.project))
    model_dir = workspace.registry.download("1")
    y_true, outputs = load_outputs(next((workspace.cache_dir / "evaluate").glob("*/outputs.npz")))
    ctx = GateContext(
        task="classification",
        y_true=y_true,
        candidate=outputs,
        metrics={},
        model_dir=model_dir,
        project_root=trained.project,
    )
    result = PytestGate(path="tests/failing").evaluate(ctx)
    assert (result.status, result.reason) == (Status.FAILED, Reason.TESTS_FAILED)
    [example] = result.examples
    assert example["test"].endswith("test_strict::test_always_confident")
    assert "least confident score" in example["message"]
