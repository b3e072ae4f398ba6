"""Deployment files for `shipyard serve`: a Dockerfile and Kubernetes manifests.

The image is stateless: it holds the project (policy, schema, the user's code) and the
model's requirements. Each replica runs `shipyard serve --desired state --workers N`: which
versions it serves (production, canary and its weight, shadow) is the newest desired-state
revision in the state database, polled every `serving.desired_poll_s`, so a rollout, abort or
rollback started on any machine reaches every replica without a new image or a restart. Every
backend (tracking server, state database, object store) and every secret (tokens, the
manifest verification key) comes from the environment, by reference to a Kubernetes Secret,
never written into a file; the tracking server and the state database are required keys.
Manifests are built as data and dumped to YAML, so they are valid by construction and a test
validates them against Kubernetes' schemas.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from typing import Any

import yaml

from shipyard.config.project import STATE_DIR
from shipyard.errors import ConfigError

__all__ = ["DeployTarget", "cpu_cores", "render_docker", "render_kubernetes"]

PORT = 8000
APP_DIR = "/app"
UID = 10001
#: Workspace backends and secrets, read from the Secret named by `DeployTarget.secret`
SECRET_ENV = ("MLFLOW_TRACKING_URI", "SHIPYARD_STATE_URL", "SHIPYARD_OBJECT_STORE", "SHIPYARD_TOKENS")
#: without these a replica cannot load a model or follow the desired state: the pod does not start
REQUIRED_ENV = ("MLFLOW_TRACKING_URI", "SHIPYARD_STATE_URL")
#: `shipyard serve --workers` accepts 1..MAX_WORKERS
MAX_WORKERS = 64
_CPU = re.compile(r"(\d+(?:\.\d+)?)(m?)")
_HEALTH_CHECK = f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{PORT}/healthz', timeout=2)"
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


@dataclass(frozen=True)
class DeployTarget:
    """What to deploy and how: names, image, sizes, and where Shipyard is installed from."""

    name: str
    image: str
    environment: str = "production"
    version: str = ""
    requirements: tuple[str, ...] = ()
    shipyard_source: str = "./vendor/shipyard-0.1.0-py3-none-any.whl"
    python: str = field(default_factory=lambda: "{}.{}.{}".format(*sys.version_info[:3]))
    replicas: int = 2
    max_replicas: int = 6
    cpu: str = "1"
    memory: str = "1Gi"
    secret: str = ""
    namespace: str = ""
    workers: int | None = None  # server processes per replica; None: the CPU request, at least 1

    def __post_init__(self) -> None:
        if not self.name or set(self.name) - _NAME_CHARS or self.name[0] == "-" or len(self.name) > 50:
            raise ConfigError(
                f"The deployment name must be lower-case letters, digits and '-' (at most 50, not "
                f"starting with '-'), as Kubernetes requires. Got {self.name!r} instead. Pass --name."
            )
        cpu_cores(self.cpu)  # refused here, before anything is written
        if self.workers is not None and not 1 <= self.workers <= MAX_WORKERS:
            raise ConfigError(f"--workers must be between 1 and {MAX_WORKERS}. Got {self.workers} instead.")
        if not 1 <= self.replicas <= self.max_replicas:
            raise ConfigError(
                f"--replicas must be between 1 and --max-replicas ({self.max_replicas}). "
                f"Got {self.replicas} instead."
            )

    @property
    def server_workers(self) -> int:
        """`workers`, else one per whole CPU requested (`500m` -> 1, `2` -> 2, `2.5` -> 2)."""
        if self.workers is not None:
            return self.workers
        return max(1, min(MAX_WORKERS, math.floor(cpu_cores(self.cpu))))

    @property
    def secret_name(self) -> str:
        return self.secret or f"{self.name}-shipyard"

    @property
    def labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.name, "app.kubernetes.io/component": "model-server"}


def cpu_cores(quantity: str) -> float:
    """A Kubernetes CPU quantity in cores: `"2"` -> 2.0, `"500m"` -> 0.5."""
    found = _CPU.fullmatch(quantity.strip())
    if found is None or float(found.group(1)) == 0:
        raise ConfigError(
            f"--cpu must be a Kubernetes CPU quantity above zero, such as '1', '2.5' or '500m'. "
            f"Got {quantity!r} instead."
        )
    return float(found.group(1)) / (1000 if found.group(2) else 1)


def _serve_command(target: DeployTarget) -> list[str]:
    """Every replica follows the state database's desired state of `rollout.environment`."""
    return [
        "shipyard", "serve", "--project", APP_DIR, "--host", "0.0.0.0", "--port", str(PORT),
        "--desired", "state", "--workers", str(target.server_workers),
    ]  # fmt: skip


def render_docker(target: DeployTarget) -> dict[str, str]:
    """`Dockerfile`, `.dockerignore` and `requirements.txt` (the model's own pins, Shipyard
    excluded: it is installed from `shipyard_source`, never by name from an index)."""
    pins = [r for r in target.requirements if not r.lower().startswith("shipyard")]
    entrypoint = ", ".join(f'"{part}"' for part in _serve_command(target))
    local = not _is_remote(target.shipyard_source)
    install_from = (
        f"/tmp/{target.shipyard_source.rstrip('/').rsplit('/', 1)[-1]}" if local else target.shipyard_source
    )
    copy_source = f"COPY {target.shipyard_source} {install_from}\n" if local else ""
    dockerfile = f"""\
# Rendered by `shipyard deploy render --target docker` for model '{target.name}'{_from(target)}.
# Build from the project folder: docker build -f deploy/docker/Dockerfile -t {target.image} .
# Pin the base by digest in production: docker buildx imagetools inspect {_base(target)}
FROM {_base(target)}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    OMP_NUM_THREADS=1 HOME=/tmp

WORKDIR {APP_DIR}
COPY deploy/docker/requirements.txt /tmp/model-requirements.txt
{copy_source}RUN pip install -r /tmp/model-requirements.txt "{install_from}" \\
    && rm -f /tmp/model-requirements.txt

RUN useradd --no-create-home --uid {UID} --user-group shipyard
COPY --chown={UID}:{UID} . {APP_DIR}
USER {UID}

EXPOSE {PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \\
    CMD ["python", "-c", "{_HEALTH_CHECK}"]
# Backends and secrets come from the environment at run time: {", ".join(SECRET_ENV)}.
# The server follows the desired state ('{target.environment}') in SHIPYARD_STATE_URL's database.
ENTRYPOINT [{entrypoint}]
"""
    ignore = f"{STATE_DIR}/\n.git/\n.venv/\n__pycache__/\n*.pyc\ndata/\n!data/sample.*\n"
    requirements = "\n".join(pins) + ("\n" if pins else "")
    return {"Dockerfile": dockerfile, ".dockerignore": ignore, "requirements.txt": requirements}


def _is_remote(source: str) -> bool:
    """A VCS or HTTP URL pip fetches itself, as opposed to a path inside the build context."""
    return "://" in source or source.startswith("git+")


def _base(target: DeployTarget) -> str:
    return f"python:{target.python}-slim-bookworm"


def _from(target: DeployTarget) -> str:
    return f", version {target.version}" if target.version else ""


def render_kubernetes(target: DeployTarget) -> dict[str, str]:
    """One file per object: Deployment, Service, HorizontalPodAutoscaler,
    PodDisruptionBudget, ServiceMonitor, and a kustomization listing them."""
    objects = {
        "deployment.yaml": _deployment(target),
        "service.yaml": _object(target, "v1", "Service", _service_spec(target)),
        "hpa.yaml": _object(target, "autoscaling/v2", "HorizontalPodAutoscaler", _hpa_spec(target)),
        "pdb.yaml": _object(
            target, "policy/v1", "PodDisruptionBudget", {"minAvailable": 1, "selector": _selector(target)}
        ),
        "servicemonitor.yaml": _object(
            target,
            "monitoring.coreos.com/v1",
            "ServiceMonitor",
            {
                "selector": _selector(target),
                "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}],
            },
        ),
    }
    files = {name: yaml.safe_dump(obj, sort_keys=False) for name, obj in objects.items()}
    files["kustomization.yaml"] = yaml.safe_dump(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": list(objects),
        },
        sort_keys=False,
    )
    return files


def _metadata(target: DeployTarget) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": target.name, "labels": target.labels}
    if target.namespace:
        meta["namespace"] = target.namespace
    return meta


def _object(target: DeployTarget, api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": _metadata(target), "spec": spec}


def _selector(target: DeployTarget) -> dict[str, Any]:
    return {"matchLabels": target.labels}


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def _deployment(target: DeployTarget) -> dict[str, Any]:
    env = [
        {
            "name": name,
            "valueFrom": {
                "secretKeyRef": {
                    "name": target.secret_name,
                    "key": name,
                    "optional": name not in REQUIRED_ENV,
                }
            },
        }
        for name in SECRET_ENV
    ]
    env.append({"name": "SHIPYARD_VERIFY_KEY", "value": "/var/run/secrets/shipyard/verify-key.pem"})
    container = {
        "name": "server",
        "image": target.image,
        "args": _serve_command(target)[1:],
        "command": ["shipyard"],
        "ports": [{"name": "http", "containerPort": PORT}],
        "env": env,
        "readinessProbe": _probe("/readyz", 5, 3),
        "livenessProbe": {**_probe("/healthz", 10, 6), "initialDelaySeconds": 30},
        "resources": {
            "requests": {"cpu": target.cpu, "memory": target.memory},
            "limits": {"memory": target.memory},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "state", "mountPath": f"{APP_DIR}/{STATE_DIR}"},
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "verify-key", "mountPath": "/var/run/secrets/shipyard", "readOnly": True},
        ],
    }
    pod = {
        "metadata": {"labels": target.labels, "annotations": {"prometheus.io/path": "/metrics"}},
        "spec": {
            "securityContext": {"runAsNonRoot": True, "fsGroup": UID},
            "terminationGracePeriodSeconds": 30,
            "containers": [container],
            "volumes": [
                {"name": "state", "emptyDir": {}},
                {"name": "tmp", "emptyDir": {}},
                {
                    "name": "verify-key",
                    "secret": {
                        "secretName": target.secret_name,
                        "optional": True,
                        "items": [{"key": "verify-key.pem", "path": "verify-key.pem"}],
                    },
                },
            ],
        },
    }
    spec = {
        "replicas": target.replicas,
        "selector": _selector(target),
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "template": pod,
    }
    return _object(target, "apps/v1", "Deployment", spec)


def _service_spec(target: DeployTarget) -> dict[str, Any]:
    return {"selector": target.labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}


def _hpa_spec(target: DeployTarget) -> dict[str, Any]:
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target.name},
        "minReplicas": target.replicas,
        "maxReplicas": target.max_replicas,
        "metrics": [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
            }
        ],
    }
