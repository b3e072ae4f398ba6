"""Estimators beyond scikit-learn (LightGBM, PyTorch) and a regression task, through the real CLI.

torch and lightgbm run only in the CLI's subprocess: importing torch here would
leak into later tests that check Shipyard does not import it needlessly.
"""

from __future__ import annotations

import importlib.util
import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import Cli, write_tiny_project

pytestmark = pytest.mark.integration

AUC_GATE = """\
gates:
  - {type: metric_threshold, name: auc_floor, metric: roc_auc, min: 0.8}
  - {type: output_contract}
"""

FEATURES = """\
import pandas as pd


def features(df):
    return pd.DataFrame({"x1": df.x1, "x2": df.x2, "g": (df.color == "g").astype(int)})
"""

LIGHTGBM_MODEL = f"""\
from lightgbm import LGBMClassifier
{FEATURES}

def train(X, y, params):
    model = LGBMClassifier(n_estimators=40, num_leaves=8, min_child_samples=10, verbose=-1)
    return model.fit(X, y)
"""

TORCH_MODEL = f"""\
import torch

from shipyard.training.torch import TorchClassifier
{FEATURES}

def net(n_features, n_outputs):
    return torch.nn.Sequential(
        torch.nn.Linear(n_features, 16), torch.nn.ReLU(), torch.nn.Linear(16, n_outputs)
    )


def train(X, y, params):
    return TorchClassifier(net, epochs=20, lr=0.01, batch_size=64).fit(X, y)
"""


def _installed(name: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(importlib.util.find_spec(name) is None, reason=f"needs {name}")


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    # OpenMP pools of torch and LightGBM spin on a busy 2-core runner: tiny fits ran 10x slower.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _registered(project: Path, version: str):
    from shipyard.config.project import Project
    from shipyard.workspace import Workspace

    return Workspace.open(Project.load(project)).registry.get(version)


@pytest.mark.parametrize(
    ("model_py", "package"),
    [
        pytest.param(LIGHTGBM_MODEL, "lightgbm", marks=_installed("lightgbm"), id="lightgbm"),
        pytest.param(TORCH_MODEL, "torch", marks=_installed("torch"), id="torch"),
    ],
)
def test_third_party_classifier_is_trained_gated_and_registered(
    tmp_path: Path, model_py: str, package: str
) -> None:
    cli = Cli(write_tiny_project(tmp_path / "p", model_py=model_py, extra_yaml=AUC_GATE))
    cli("schema", "infer", check=0)
    run = cli("run", check=0)
    assert "all 2 gates passed" in run.stdout and "version 1: approved" in run.stdout, run.stdout
    assert _registered(cli.project, "1").verdict == "approved"
    model = _registered_model_dir(cli.project)
    assert f"{package}==" in (model / "requirements.txt").read_text()
    fingerprint = json.loads((model / "shipyard.json").read_text())["fingerprint"]
    assert fingerprint["packages"][package]
    assert fingerprint["cuda"]["checked"] is (package == "torch")
    # Saved in a safe format: skops for LightGBM (its types trusted by default), torch weights
    # read with weights_only; nothing in the folder is a pickle.
    expected = {"lightgbm": "skops", "torch": "torch"}[package]
    assert json.loads((model / "shipyard.json").read_text())["format"] == expected
    assert not [p for p in model.rglob("*") if p.suffix in (".pkl", ".joblib", ".pickle")]


def _registered_model_dir(project: Path) -> Path:
    (metadata,) = (project / ".shipyard" / "artifacts").rglob("model/shipyard.json")
    return metadata.parent


def _write_regression_project(root: Path) -> Path:
    """A noisy linear target on three numeric columns, with a random split and an r2 gate."""
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(3)})
    frame["price"] = 3.0 * frame.x0 - 2.0 * frame.x1 + 0.5 * frame.x2 + rng.normal(scale=0.3, size=n)
    frame.to_csv(root / "data.csv", index=False)
    frame.sample(100, random_state=0).to_csv(root / "sample.csv", index=False)
    (root / "model.py").write_text(
        textwrap.dedent(
            """\
            from sklearn.linear_model import Ridge


            def train(X, y, params):
                return Ridge(alpha=params["alpha"]).fit(X, y)
            """
        )
    )
    (root / "shipyard.yaml").write_text(
        textwrap.dedent(
            """\
            name: prices
            task: regression
            data: {source: data.csv, sample: sample.csv, target: price}
            entrypoints: {train: model:train}
            params: {alpha: 1.0}
            split: {method: random, test_size: 0.25}
            metrics: [rmse, mae, r2]
            gates:
              - {type: metric_threshold, name: r2_floor, metric: r2, min: 0.9}
            """
        )
    )
    return root


def test_regression_project_is_trained_gated_and_registered(tmp_path: Path) -> None:
    cli = Cli(_write_regression_project(tmp_path / "prices"))
    cli("schema", "infer", check=0)
    run = cli("run", check=0)
    assert "version 1: approved" in run.stdout, run.stdout
    assert "r2_floor" in run.stdout and "all 1 gates passed" in run.stdout, run.stdout
    info = _registered(cli.project, "1")
    assert info.verdict == "approved" and info.metrics["r2"] > 0.95
    # The noise has standard deviation 0.3: a fitted linear model's errors are about that size.
    assert 0.2 < info.metrics["mae"] < info.metrics["rmse"] < 0.45
