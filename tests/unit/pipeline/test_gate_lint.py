"""`lint` checks gate options against the schema before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shipyard.config.project import Project
from shipyard.data.schema import infer_schema, write_schema
from shipyard.errors import ConfigError
from shipyard.pipeline.lint import lint

MODEL = """\
def train(X, y, params):
    raise NotImplementedError


def my_gate(ctx, *, column):
    raise NotImplementedError
"""


def _project(root: Path, gates: list[dict]) -> Project:
    import pandas as pd

    root.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(
        {"amount": [1.0, 2.0, 3.0, 4.0], "color": ["r", "g", "r", "g"], "label": [0, 1, 0, 1]}
    )
    frame.to_csv(root / "data.csv", index=False)
    write_schema(infer_schema(frame, target="label"), root / "schema.yaml")
    (root / "lint_model.py").write_text(MODEL)
    config = {
        "name": "linted",
        "data": {"source": "data.csv", "target": "label"},
        "entrypoints": {"train": "lint_model:train"},
        "gates": gates,
    }
    (root / "shipyard.yaml").write_text(yaml.safe_dump(config))
    return Project.load(root)


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        (
            {"type": "invariance", "column": "colour"},
            "shipyard.yaml: gates[0].column: column 'colour' is not in the schema. Did you mean 'color'?",
        ),
        (
            {"type": "directional", "column": "color", "perturbation": {"kind": "scale", "factor": 2}},
            "shipyard.yaml: gates[0].perturbation: kind 'scale' needs a numeric column; 'color' is string",
        ),
        (
            {"type": "invariance", "column": "color", "perturbation": {"kind": "set", "value": "blue"}},
            "shipyard.yaml: gates[0].perturbation.value: 'blue' is not an allowed value of 'color'",
        ),
        (
            {"type": "lint_model:my_gate", "column": "amout"},
            "shipyard.yaml: gates[0].column: column 'amout' is not in the schema. Did you mean 'amount'?",
        ),
        (
            {"type": "minimum_functionality", "cases": "cases.yaml"},
            "gates[0]: cases: no such file",
        ),
    ],
)
def test_gate_options_naming_data_are_checked_against_the_schema(tmp_path, gate, message):
    project = _project(tmp_path / "p", [gate])
    with pytest.raises(ConfigError) as info:
        lint(project)
    assert message in str(info.value)


def test_valid_gates_pass_lint(tmp_path):
    cases = [{"row": {"amount": 2.0, "color": "g"}, "expected": 1}]
    project = _project(
        tmp_path / "p",
        [
            {"type": "invariance", "column": "color"},
            {"type": "directional", "column": "amount", "perturbation": {"kind": "scale", "factor": 2}},
            {"type": "minimum_functionality", "cases": cases},
            {"type": "lint_model:my_gate", "column": "amount"},
        ],
    )
    lint(project)


def test_rollout_analysis_rules_are_linted_before_anything_runs(tmp_path):
    project = _project(tmp_path / "p", [])
    policy = yaml.safe_load((project.root / "shipyard.yaml").read_text())
    policy["rollout"] = {"analysis": [{"type": "eror_rate", "max": 0.01}]}
    (project.root / "shipyard.yaml").write_text(yaml.safe_dump(policy))
    with pytest.raises(ConfigError, match=r"rollout.analysis\[0\].type: unknown gate type 'eror_rate'"):
        lint(Project.load(project.root))


@pytest.mark.parametrize(
    ("rule", "offline"), [("latency_ratio", "max_latency_ratio"), ("error_rate", "output_contract")]
)
def test_live_only_rules_under_gates_are_refused_with_the_offline_equivalent(
    tmp_path: Path, rule: str, offline: str
) -> None:
    project = _project(tmp_path / "p", [{"type": "output_contract"}, {"type": rule}])
    with pytest.raises(ConfigError, match=rf"gates\[1\]: '{rule}' judges live traffic.*{offline}"):
        lint(project)
