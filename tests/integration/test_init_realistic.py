"""`shipyard init` on realistic data (tests/integration/realistic_data.py): the policy it
proposes holds on its own data through the real CLI (`init -> run -> smoke`), and it
proposes a time split, fairness and invariance gates where a careful engineer would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from realistic_data import ALL, RealisticSet, loans

pytestmark = pytest.mark.integration


def _shipyard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "OMP_NUM_THREADS": "1", "SHIPYARD_ACTOR": "t"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [sys.executable, "-m", "shipyard.cli", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _ok(proc: subprocess.CompletedProcess[str], what: str) -> str:
    assert proc.returncode == 0, f"{what}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _gates(policy: dict, kind: str) -> list[dict]:
    return [g for g in policy["gates"] if g["type"] == kind]


# Every set as a user's Parquet holds it: category columns, nullable Int64 with missing values.
CASES = [pytest.param(make, {}, id=make.__name__) for make in ALL]


@pytest.mark.parametrize(("make", "options"), CASES)
def test_init_proposes_a_policy_its_own_data_passes(make, options, tmp_path: Path):
    data: RealisticSet = make(seed=3, **options)
    data.write(tmp_path / "exports")
    root = tmp_path / "project"
    _ok(
        _shipyard(
            "init",
            str(root),
            "--data",
            f"exports/{data.file}",
            "--target",
            data.target,
            "--no-smoke",
            cwd=tmp_path,
        ),
        "init",
    )
    text = (root / "shipyard.yaml").read_text()
    policy = yaml.safe_load(text)
    assert policy["name"] == Path(data.file).name.split(".")[0]
    assert policy["split"]["method"] == data.expect_split
    assert policy["split"].get("column") == data.expect_split_column
    fairness = {g["sensitive"] for g in _gates(policy, "fairness")}
    invariance = {g["column"] for g in _gates(policy, "invariance")}
    assert fairness == set(data.expect_fairness)
    assert invariance == set(data.expect_invariance)
    if invariance:
        assert "# Sensitive attributes found:" in text
    sample_rows = len(pd.read_parquet(root / "data" / "sample.parquet"))
    assert policy["data"]["min_rows"] <= min(sample_rows, len(data.frame) // 5)

    _ok(_shipyard("validate", "data/sample.parquet", cwd=root), "validate sample")
    run = _ok(_shipyard("run", "--no-report", cwd=root), "run")
    assert "version 1: approved" in run
    smoke = _ok(_shipyard("smoke", cwd=root), "smoke")
    assert "Smoke passed" in smoke and "FAILED" not in smoke.split("Gates")[0]


def test_init_runs_smoke_and_says_the_proposal_holds(tmp_path: Path):
    data = loans(seed=5, rows=1200, category_dtype=False)
    data.write(tmp_path)
    out = _ok(_shipyard("init", "--data", data.file, "--target", data.target, cwd=tmp_path), "init")
    assert "Sensitive attributes: applicant, age_band" in out
    assert "The proposal holds: smoke passed" in " ".join(out.split())
