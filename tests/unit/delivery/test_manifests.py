"""Rendered deployment files: valid against Kubernetes' schemas, a Dockerfile that parses and
runs `shipyard serve` as a non-root user, secrets only by reference."""

from __future__ import annotations

import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from shipyard.delivery.manifests import (
    REQUIRED_ENV,
    SECRET_ENV,
    DeployTarget,
    cpu_cores,
    render_docker,
    render_kubernetes,
)
from shipyard.errors import ConfigError

K8S_VERSION = "1.30.0"
PINS = ("mlflow==3.17.2", "scikit-learn==1.9.1", "shipyard==0.1.0")


def _target(**changes) -> DeployTarget:
    return DeployTarget(**{"name": "fraud", "image": "registry.example/fraud:v3", "version": "3", **changes})


def test_kubernetes_objects_validate_against_the_schemas() -> None:
    files = render_kubernetes(_target(namespace="models"))
    kinds = {}
    for text in files.values():
        doc = yaml.safe_load(text)
        kinds[doc["kind"]] = doc
        if doc["kind"] in {"ServiceMonitor", "Kustomization"}:
            continue  # CRD and kustomize file: no built-in schema; checked by hand below
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    assert set(kinds) == {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"} | {
        "ServiceMonitor",
        "Kustomization",
    }
    assert sorted(kinds["Kustomization"]["resources"]) == sorted(
        f for f in files if f != "kustomization.yaml"
    )
    monitor = kinds["ServiceMonitor"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]
    assert monitor["spec"]["selector"]["matchLabels"] == kinds["Service"]["spec"]["selector"]
    assert all(
        doc["metadata"].get("namespace") == "models" for k, doc in kinds.items() if k != "Kustomization"
    )


def test_the_deployment_probes_health_runs_unprivileged_and_takes_secrets_by_reference() -> None:
    deployment = yaml.safe_load(render_kubernetes(_target())["deployment.yaml"])
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["requests"] == {"cpu": "1", "memory": "1Gi"}
    by_name = {e["name"]: e for e in container["env"]}
    for name in SECRET_ENV:
        assert "value" not in by_name[name]
        assert by_name[name]["valueFrom"]["secretKeyRef"] == {
            "name": "fraud-shipyard",
            "key": name,
            "optional": name not in REQUIRED_ENV,
        }
    assert set(REQUIRED_ENV) == {"MLFLOW_TRACKING_URI", "SHIPYARD_STATE_URL"}
    assert container["command"] + container["args"][:2] == ["shipyard", "serve", "--project"]
    hpa = yaml.safe_load(render_kubernetes(_target(replicas=3, max_replicas=9))["hpa.yaml"])
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 9)


def test_the_dockerfile_parses_installs_pinned_shipyard_and_serves_as_non_root() -> None:
    files = render_docker(_target(requirements=PINS))
    parser = DockerfileParser()
    parser.content = files["Dockerfile"]
    instructions = [i["instruction"] for i in parser.structure]
    assert parser.baseimage.startswith("python:3.") and parser.baseimage.endswith("-slim-bookworm")
    assert parser.baseimage.count(".") == 2  # a patch release, not a moving minor tag
    assert {"FROM", "RUN", "COPY", "USER", "HEALTHCHECK", "ENTRYPOINT", "EXPOSE"} <= set(instructions)
    user = [i["value"] for i in parser.structure if i["instruction"] == "USER"]
    assert user == ["10001"]
    assert instructions.index("USER") < instructions.index("ENTRYPOINT")
    entrypoint = [i["value"] for i in parser.structure if i["instruction"] == "ENTRYPOINT"][0]
    assert '"shipyard", "serve"' in entrypoint and '"0.0.0.0"' in entrypoint
    # Shipyard never comes from an index by name: a dependency-confusion target
    assert files["requirements.txt"].splitlines() == ["mlflow==3.17.2", "scikit-learn==1.9.1"]
    assert (
        "COPY ./vendor/shipyard-0.1.0-py3-none-any.whl /tmp/shipyard-0.1.0-py3-none-any.whl"
        in files["Dockerfile"]
    )
    assert ".shipyard/" in files[".dockerignore"].splitlines()


def test_a_vcs_source_is_installed_by_url_without_a_copy() -> None:
    source = "git+https://github.com/acme/shipyard@0123456789abcdef0123456789abcdef01234567"
    dockerfile = render_docker(_target(shipyard_source=source))["Dockerfile"]
    assert f'"{source}"' in dockerfile and "/tmp/shipyard" not in dockerfile


@pytest.mark.parametrize("name", ["Fraud", "fraud_model", "-x", "", "a" * 51])
def test_names_kubernetes_refuses_are_refused_up_front(name: str) -> None:
    with pytest.raises(ConfigError, match="deployment name must be lower-case"):
        _target(name=name)


def _serve_args(target: DeployTarget) -> list[str]:
    (container,) = yaml.safe_load(render_kubernetes(target)["deployment.yaml"])["spec"]["template"]["spec"][
        "containers"
    ]
    return container["args"]


@pytest.mark.parametrize(
    ("cpu", "workers", "expected"), [("1", None, 1), ("500m", None, 1), ("2.5", None, 2), ("4", 3, 3)]
)
def test_replicas_follow_the_state_database_with_workers_from_the_cpu_request(
    cpu: str, workers: int | None, expected: int
) -> None:
    target = _target(cpu=cpu, workers=workers)
    args = _serve_args(target)
    assert args[args.index("--desired") + 1] == "state" and not any(a.startswith("deploy/") for a in args)
    assert args[args.index("--workers") + 1] == str(expected)
    parser = DockerfileParser()
    parser.content = render_docker(target)["Dockerfile"]
    (entrypoint,) = [i["value"] for i in parser.structure if i["instruction"] == "ENTRYPOINT"]
    assert f'"--desired", "state", "--workers", "{expected}"' in entrypoint


@pytest.mark.parametrize(("quantity", "cores"), [("1", 1.0), ("250m", 0.25), (" 2.5 ", 2.5)])
def test_cpu_quantities_are_read_in_cores(quantity: str, cores: float) -> None:
    assert cpu_cores(quantity) == cores


@pytest.mark.parametrize("quantity", ["", "one", "0", "-1", "2Gi"])
def test_a_cpu_request_that_is_no_quantity_is_refused_naming_the_option(quantity: str) -> None:
    with pytest.raises(ConfigError, match=f"--cpu must be a Kubernetes CPU quantity.*Got {quantity!r}"):
        _target(cpu=quantity)


@pytest.mark.parametrize("workers", [0, 65])
def test_workers_out_of_range_are_refused_up_front(workers: int) -> None:
    with pytest.raises(ConfigError, match="--workers must be between 1 and 64"):
        _target(workers=workers)
