from pathlib import Path

import pytest

from shipyard.config import load_policy, parse_policy
from shipyard.errors import ConfigError

MINIMAL = {
    "name": "demo",
    "data": {"source": "data.csv", "target": "y"},
    "entrypoints": {"train": "model:train"},
}


def test_minimal_policy_gets_defaults():
    policy = parse_policy(MINIMAL)
    assert policy.task == "classification"
    assert policy.split.method == "stratified"
    assert policy.data.schema_path == "schema.yaml"
    assert policy.model_name == "demo"


def test_smoke_params_override_params():
    policy = parse_policy({**MINIMAL, "params": {"a": 1, "b": 2}, "smoke": {"params": {"b": 3}}})
    assert policy.params_for(smoke=True) == {"a": 1, "b": 3}
    assert policy.params_for(smoke=False) == {"a": 1, "b": 2}


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        (
            {"data": {"source": "d.csv", "taget": "y"}},
            "data.taget: unknown key 'taget'. Did you mean 'target'?",
        ),
        ({"splitt": {}}, "unknown key 'splitt'. Did you mean 'split'?"),
        ({"split": {"method": "time"}}, "split method 'time' needs 'column'"),
        ({"split": {"test_size": 2}}, "split.test_size"),
        ({"task": "ranking"}, "task"),
        ({"data": {"target": "y"}}, "exactly one of 'source'"),
        ({"entrypoints": {}}, "entrypoints.train: required key is missing"),
    ],
)
def test_config_errors_name_the_key(patch, expected):
    with pytest.raises(ConfigError) as info:
        parse_policy({**MINIMAL, **patch})
    assert expected in str(info.value)
    assert str(info.value).startswith("shipyard.yaml: ")


def test_gate_entries_keep_their_params():
    policy = parse_policy({**MINIMAL, "gates": [{"type": "metric_threshold", "metric": "f1", "min": 0.5}]})
    gate = policy.gates[0]
    assert gate.params == {"metric": "f1", "min": 0.5}
    assert gate.label == "metric_threshold" and gate.required


def test_malformed_yaml_names_the_line(tmp_path: Path):
    path = tmp_path / "shipyard.yaml"
    path.write_text("name: x\ndata: [unclosed\n")
    with pytest.raises(ConfigError, match="malformed YAML at line"):
        load_policy(path)


def test_missing_file_says_what_to_do(tmp_path: Path):
    with pytest.raises(ConfigError, match="--project DIR"):
        load_policy(tmp_path / "shipyard.yaml")


def test_top_level_must_be_mapping():
    with pytest.raises(ConfigError, match="must be a mapping"):
        parse_policy(["a", "b"])
