"""Model names MLflow accepts and paths that stay in the project, checked when shipyard.yaml loads."""

from __future__ import annotations

import pytest

from shipyard.config.loading import parse_policy
from shipyard.errors import ConfigError
from shipyard.registry._info import check_model_name

BASE = {"name": "demo", "data": {"source": "d.csv", "target": "y"}, "entrypoints": {"train": "m:t"}}


def _with(**changes: dict) -> dict:
    policy = {key: dict(value) if isinstance(value, dict) else value for key, value in BASE.items()}
    for section, values in changes.items():
        policy[section] = {**policy.get(section, {}), **values} if isinstance(values, dict) else values
    return policy


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "a/b", "a:b", "", "../x", "a b", "é"])
def test_names_mlflow_or_a_filesystem_would_refuse_are_config_errors(name: str) -> None:
    with pytest.raises(
        ConfigError, match=rf"shipyard.yaml: name: .*model name must start with .*Got '{name}'"
    ):
        parse_policy(_with(name=name))
    with pytest.raises(ConfigError, match="shipyard.yaml: registry.model_name: "):
        parse_policy(_with(registry={"model_name": name}))
    with pytest.raises(ConfigError, match="registered model name must start with"):
        check_model_name(name)


@pytest.mark.parametrize("name", ["fraud", "fraud-v2", "fraud_v2.1", "_x", "-x", "2026"])
def test_ordinary_names_pass(name: str) -> None:
    assert parse_policy(_with(name=name)).model_name == name
    check_model_name(name)


@pytest.mark.parametrize(
    ("section", "key", "shown"),
    [
        ("data", "source", "data.source"),
        ("data", "sample", "data.sample"),
        ("data", "schema", "data.schema"),
        ("retrain", "data", "retrain.data"),
    ],
)
@pytest.mark.parametrize("path", ["../../etc/passwd", "..", "data/../../x.csv", "..\\secret.csv"])
def test_relative_paths_escaping_the_project_name_the_key(
    section: str, key: str, shown: str, path: str
) -> None:
    with pytest.raises(ConfigError, match=rf"shipyard.yaml: {shown}: .*must stay inside the project folder"):
        parse_policy(_with(**{section: {key: path}}))


@pytest.mark.parametrize("path", ["data/x.csv", "./x.csv", "a/../x.csv", "/srv/data/x.parquet", "..x.csv"])
def test_paths_inside_the_project_or_absolute_pass(path: str) -> None:
    assert parse_policy(_with(data={"source": path})).data.source == path


def test_trusted_types_are_dotted_names() -> None:
    policy = parse_policy(_with(model_format={"trusted_types": ["pkg.mod.Cls"], "allow_pickle": True}))
    assert policy.model_format.trusted_types == ["pkg.mod.Cls"] and policy.model_format.allow_pickle
    assert not parse_policy(BASE).model_format.allow_pickle
    with pytest.raises(ConfigError, match=r"model_format.trusted_types: .*got 'Cls'"):
        parse_policy(_with(model_format={"trusted_types": ["Cls"]}))


@pytest.mark.parametrize(
    ("text", "model", "kubernetes"),
    [
        ("Fraud Model (v2)", "Fraud-Model-v2", "fraud-model-v2"),
        ("fraud_v2.1", "fraud_v2-1", "fraud-v2-1"),
        ("__x__", "x", "x"),
        ("é!", None, None),
    ],
)
def test_one_sanitiser_makes_model_names_and_kubernetes_names(
    text: str, model: str | None, kubernetes: str | None
) -> None:
    from shipyard.config._data_traits import safe_name

    assert safe_name(text) == model and safe_name(text, dns_label=True) == kubernetes
    if model is not None:
        check_model_name(model)
    if kubernetes is not None:
        from shipyard.delivery.manifests import DeployTarget

        DeployTarget(name=kubernetes, image="i")  # refuses names Kubernetes would
