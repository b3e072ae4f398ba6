"""`shipyard init` on a fresh folder with data: the project it writes works, and its CI files
validate against the GitHub Actions and GitLab CI schemas shipped in check-jsonschema."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from cli_helpers import Cli

import shipyard as shipyard_package

pytestmark = pytest.mark.integration

CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")
WORKFLOWS = ("shipyard-pr.yml", "shipyard-train.yml", "shipyard-retrain.yml", "shipyard-deploy.yml")


def _write_data(path: Path, rows: int = 400) -> None:
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=rows, n_features=4, n_informative=3, n_redundant=0, random_state=0)
    frame = pd.DataFrame(X, columns=["f1", "f2", "f3", "f4"])
    frame.insert(0, "customer_id", [f"c{i:05d}" for i in range(rows)])
    frame["region"] = np.where(X[:, 0] > 0, "north", "south")
    frame["signed_up"] = pd.date_range("2026-01-01", periods=rows, freq="6h").strftime("%Y-%m-%dT%H:%M:%S")
    frame["churned"] = y
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


def _shipyard(
    *args: str, cwd: Path, stdin: int | None = subprocess.DEVNULL
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "OMP_NUM_THREADS": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [sys.executable, "-m", "shipyard.cli", *args],
        cwd=cwd,
        env=env,
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("init") / "churn"
    _write_data(root / "data" / "customers.csv")
    proc = _shipyard(
        "init",
        "churn",
        "--data",
        "churn/data/customers.csv",
        "--target",
        "churned",
        "--shipyard-source",
        str(Path(shipyard_package.__file__).parents[2]),
        cwd=root.parent,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "The proposal holds: smoke passed" in " ".join(proc.stdout.split())
    return root


def test_init_writes_a_commented_project_with_ci(project: Path):
    for path in (
        "shipyard.yaml",
        "schema.yaml",
        "data/sample.parquet",
        "model/features.py",
        "model/train.py",
        "requirements.txt",
        ".gitlab-ci.yml",
        *(f".github/workflows/{w}" for w in WORKFLOWS),
    ):
        assert (project / path).is_file(), path
    policy = (project / "shipyard.yaml").read_text()
    assert "source: data/customers.csv" in policy and "target: churned" in policy
    assert "method: time" in policy and "column: signed_up" in policy
    assert "slices: [region]" in policy
    assert '["customer_id"]' in (project / "model" / "features.py").read_text()
    assert ".shipyard/" in (project / ".gitignore").read_text().splitlines()
    assert len(pd.read_parquet(project / "data" / "sample.parquet")) == 400
    requirements = (project / "requirements.txt").read_text()
    assert str(Path(shipyard_package.__file__).parents[2]) in requirements
    assert "shipyard==" not in requirements


def test_ci_files_validate_against_the_vendor_schemas(project: Path):
    for schema, files in (
        ("vendor.github-workflows", [project / ".github" / "workflows" / w for w in WORKFLOWS]),
        ("vendor.gitlab-ci", [project / ".gitlab-ci.yml"]),
    ):
        proc = subprocess.run(
            [str(CHECK_JSONSCHEMA), "--builtin-schema", schema, *map(str, files)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_generated_project_passes_smoke_and_run(project: Path, monkeypatch: pytest.MonkeyPatch):
    # One OpenMP thread: the starter model is gradient boosting, which crawls on busy shared cores.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    cli = Cli(project)
    cli("smoke", check=0)
    run = cli("run", "--no-report", check=0)
    assert "version 1: approved" in run.stdout


def test_existing_files_are_named_and_kept_without_force(project: Path):
    train = project / "model" / "train.py"
    mine = train.read_text() + "\n# my change\n"
    train.write_text(mine)
    args = (
        "init",
        "--project",
        str(project),
        "--data",
        "data/customers.csv",
        "--target",
        "churned",
        "--no-smoke",
    )
    refused = _shipyard(*args, cwd=project)
    assert refused.returncode == 2
    message = " ".join(refused.stderr.split())
    assert (
        "would overwrite shipyard.yaml, data/sample.parquet, schema.yaml, .github/workflows/shipyard-pr.yml"
        in message
    )
    assert "--force" in message
    forced = _shipyard(*args, "--force", cwd=project)
    assert forced.returncode == 0, forced.stderr
    assert "kept your model/train.py" in forced.stdout
    assert train.read_text() == mine


def test_missing_flags_exit_2_without_a_terminal(tmp_path: Path):
    _write_data(tmp_path / "d.csv", rows=50)
    proc = _shipyard("init", "--data", "d.csv", cwd=tmp_path)
    assert proc.returncode == 2
    assert "shipyard init needs --target COLUMN (stdin is not a terminal" in " ".join(proc.stderr.split())
    assert not (tmp_path / "shipyard.yaml").exists()


def test_a_missing_flag_is_asked_for_on_a_terminal(tmp_path: Path):
    _write_data(tmp_path / "d.csv", rows=50)
    controller, terminal = os.openpty()  # a real terminal, so init may prompt
    try:
        os.write(controller, b"churned\n")
        proc = _shipyard("init", "--data", "d.csv", cwd=tmp_path, stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Label column (one of: customer_id, f1" in proc.stdout
    assert "target: churned" in (tmp_path / "shipyard.yaml").read_text()


def test_a_wrong_target_is_named_with_a_suggestion(tmp_path: Path):
    _write_data(tmp_path / "d.csv", rows=50)
    proc = _shipyard("init", "--data", "d.csv", "--target", "churn", cwd=tmp_path)
    assert proc.returncode == 2
    assert "column 'churn' is not in the data. Did you mean 'churned'?" in " ".join(proc.stderr.split())


def _condition(condition: str, root: Path, event: str) -> bool:
    """The two `if:` forms the generated workflows use: GitHub's `hashFiles('a', 'b') != ''` (true
    when any pattern, relative to the repository root, matches a file) and
    `github.event_name == 'push'`."""
    if match := re.fullmatch(r"github.event_name == '(\w+)'", condition.strip()):
        return event == match[1]
    match = re.fullmatch(r"hashFiles\((.*)\) != ''", condition.strip())
    assert match, f"unexpected if: {condition}"
    patterns = re.findall(r"'([^']+)'", match[1])
    return any(path.is_file() for pattern in patterns for path in root.glob(pattern))


def _run_job(
    repo: Path, workflow_file: str, job_name: str, *, event: str, env: dict[str, str] | None = None
) -> list[str]:
    """Every shell step of one job, in order, as GitHub would run it (bash -eo pipefail, the
    workflow's and job's env, the step's env, the working directory) on `repo`; `${{ … }}`
    values become `ci-test` unless `env` gives them. The names of the steps that ran.

    Not run: the `uses:` steps (checkout is the copy; setup-python is this venv) and the pip
    line of the install step: this venv already holds Shipyard from this checkout with its
    dependencies, and installing the pinned source again would need the network. The rest of
    the install step (the check that Shipyard is installed) does run.
    """
    workflow = yaml.safe_load((repo / ".github" / "workflows" / workflow_file).read_text())
    job = workflow["jobs"][job_name]
    workdir = repo / job["defaults"]["run"]["working-directory"]
    ran = []
    for step in job["steps"]:
        if "uses" in step or ("if" in step and not _condition(step["if"], repo, event)):
            continue
        step_env = {**os.environ, **workflow["env"], "COLUMNS": "200", "NO_COLOR": "1"}
        for values in (job.get("env", {}), step.get("env", {})):
            step_env.update({k: re.sub(r"\$\{\{[^}]*\}\}", "ci-test", v) for k, v in values.items()})
        step_env.pop("MLFLOW_TRACKING_URI", None)
        step_env.update(env or {})
        step_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{step_env['PATH']}"
        script = step["run"]
        if step["name"].startswith("Install"):
            assert "python -m pip install -r requirements.txt" in script
            script = script.replace("python -m pip install -r requirements.txt", ":")
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=workdir,
            env=step_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, f"step {step['name']!r}: {proc.stdout}{proc.stderr}"
        ran.append(step["name"])
    return ran


def _fresh_copy(project: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".shipyard", "shipyard-reports"))
    return copy


def test_the_pr_workflow_steps_run_in_order_in_a_fresh_copy(project: Path, tmp_path: Path):
    """Every shell step of shipyard-pr.yml's job, as GitHub would run it, on a fresh copy of the
    generated project (see `_run_job` for what is not run)."""
    ran = _run_job(_fresh_copy(project, tmp_path), "shipyard-pr.yml", "validate", event="pull_request")
    assert [name.split(" ")[0] for name in ran] == ["Install", "Validate", "Smoke"]


def test_a_merged_hand_edit_of_the_deploy_file_is_recorded_by_the_deploy_check(project: Path, tmp_path: Path):
    """shipyard-deploy.yml's check-deploy-files job on a fresh copy: on a pull request it only
    parses the deploy file; on the push of the merge it also runs `shipyard rollout sync`, so the
    state database's newest revision is what git holds and `serve --desired` servers follow it."""
    from shipyard.serving.desired import DesiredState, write_desired
    from shipyard.workspace.desired import DesiredLog

    repo = _fresh_copy(project, tmp_path)
    team = {"SHIPYARD_STATE_URL": f"sqlite:///{tmp_path / 'team.db'}"}  # the shared state database
    log = DesiredLog(team["SHIPYARD_STATE_URL"], "customers", "production")
    deploy = repo / "deploy" / "production.yaml"
    write_desired(deploy, DesiredState(model="customers", production="1"))
    assert _run_job(repo, "shipyard-deploy.yml", "check-deploy-files", event="push", env=team)[-1] == (
        "Record a merged hand edit as the newest desired state"
    )
    first = log.latest()
    assert first is not None and first.state.production == "1"
    write_desired(
        deploy, DesiredState(model="customers", production="2", previous="1"), revision=first.number
    )
    ran = _run_job(repo, "shipyard-deploy.yml", "check-deploy-files", event="pull_request", env=team)
    assert ran[-1] == "Parse every deploy file" and log.latest() == first  # not merged yet
    _run_job(repo, "shipyard-deploy.yml", "check-deploy-files", event="push", env=team)
    newest = log.latest()
    assert newest is not None and newest.number == first.number + 1
    assert (newest.state.production, newest.state.previous, newest.actor) == ("2", "1", "ci-test")
