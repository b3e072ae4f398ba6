"""A slower or bloated candidate is rejected against production; an equally costly one ships."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Cli, write_tiny_project

FOREST = """\
import pandas as pd
from sklearn.ensemble import RandomForestClassifier


def features(df):
    return pd.DataFrame({"x1": df.x1, "x2": df.x2, "g": (df.color == "g").astype(int)})


def train(X, y, params):
    return RandomForestClassifier(n_estimators=params["trees"], random_state=params["seed"]).fit(X, y)
"""

GATES = """\
gates:
  - {type: metric_threshold, metric: roc_auc, min: 0.6}
  - {type: performance, max_latency_ratio: 1.5, max_size_ratio: 3.0}
"""

pytestmark = pytest.mark.integration


def _set_params(project: Path, trees: int, seed: int) -> None:
    config = project / "shipyard.yaml"
    lines = [
        f"params: {{trees: {trees}, seed: {seed}}}" if line.startswith("params:") else line
        for line in config.read_text().splitlines()
    ]
    config.write_text("\n".join(lines) + "\n")


def test_cost_ratios_against_production(tmp_path: Path) -> None:
    cli = Cli(write_tiny_project(tmp_path / "p", model_py=FOREST, extra_yaml=GATES))
    _set_params(cli.project, trees=10, seed=0)
    cli("schema", "infer", check=0)
    first = cli("run", check=0)
    assert "no production model yet" in first.stdout
    cli("promote", "1", "--to", "production", check=0)

    _set_params(cli.project, trees=10, seed=1)
    cli("run", check=0)  # same cost as production: ships

    _set_params(cli.project, trees=100, seed=0)
    bloated = cli("run", check=1)
    out = bloated.stdout + bloated.stderr
    assert "latency" in out and "> 1.5x (candidate / production)" in out
    assert "size" in out and "x production (v1) > 3x" in out
    models = cli("models", check=0).stdout
    assert "rejected" in models
