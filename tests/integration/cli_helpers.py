"""Helpers for integration tests: real projects in temp folders, the real CLI in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "fraud"


@dataclass
class Cli:
    project: Path

    def __call__(self, *args: str, check: int | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "SHIPYARD_ACTOR": "ci-test", "COLUMNS": "200", "NO_COLOR": "1"}
        env.pop("MLFLOW_TRACKING_URI", None)
        env.pop("SHIPYARD_STATE_URL", None)  # a test's state lives in its folder unless its yaml says so
        proc = subprocess.run(
            [sys.executable, "-m", "shipyard.cli", *args, "--project", str(self.project)],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.project,
            timeout=300,
        )
        if check is not None:
            assert proc.returncode == check, (
                f"exit {proc.returncode} != {check}\nSTDOUT:\n{proc.stdout}\nSTDERR:\n{proc.stderr}"
            )
        return proc


def copy_example(dst: Path, rows: int | None) -> Path:
    """The fraud example as a fresh clone has it, plus `rows` generated transactions if given."""
    shutil.copytree(
        EXAMPLE, dst, ignore=shutil.ignore_patterns(".shipyard", "transactions*.parquet", "corrupted*")
    )
    if rows is None:
        return dst
    sys.path.insert(0, str(EXAMPLE))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(EXAMPLE))
    generate(rows, seed=1).to_parquet(dst / "data" / "transactions.parquet")
    return dst


TINY_MODEL = """\
import pandas as pd
from sklearn.linear_model import LogisticRegression


def features(df):
    return pd.DataFrame({"x1": df.x1, "x2": df.x2, "g": (df.color == "g").astype(int)})


def train(X, y, params):
    return LogisticRegression(C=params.get("C", 1.0)).fit(X, y)
"""


def write_tiny_project(root: Path, *, model_py: str = TINY_MODEL, extra_yaml: str = "") -> Path:
    """A minimal CSV project with a logistic regression, for error-path tests."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {"x1": rng.normal(size=n), "x2": rng.normal(size=n), "color": rng.choice(["r", "g"], n)}
    )
    frame["label"] = (frame.x1 + 0.5 * frame.x2 + rng.normal(scale=0.5, size=n) > 0).astype(int)
    frame.to_csv(root / "data.csv", index=False)
    frame.sample(100, random_state=0).to_csv(root / "sample.csv", index=False)
    (root / "model.py").write_text(textwrap.dedent(model_py))
    (root / "shipyard.yaml").write_text(
        textwrap.dedent(
            """\
            name: tiny
            task: classification
            data:
              source: data.csv
              sample: sample.csv
              target: label
            entrypoints:
              features: model:features
              train: model:train
            params: {C: 1.0}
            split: {method: stratified, test_size: 0.25}
            metrics: [roc_auc, accuracy]
            """
        )
        + textwrap.dedent(extra_yaml)
    )
    return root
