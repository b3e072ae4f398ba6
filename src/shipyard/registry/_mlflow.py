"""Thin helpers over `MlflowClient` calls: where artifacts go, logging a run, fetching files."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse, urlsplit, urlunsplit

import sqlalchemy as sa

from shipyard.core.hashing import digest_bytes
from shipyard.errors import ConfigError
from shipyard.registry import _info as names
from shipyard.registry.integrity import verify_manifest

if TYPE_CHECKING:
    from mlflow import MlflowClient

_MANIFEST_TAG_LIMIT = 5000  # the smallest model-version tag limit among MLflow backends
_PARAM_LIMIT = 6000  # MLflow's MAX_PARAM_VAL_LENGTH
_BATCH = 100  # MLflow's MAX_PARAMS_TAGS_PER_BATCH
_DATABASE_SCHEMES = {"postgresql", "mysql", "mssql"}


def redact(uri: str) -> str:
    """The URI without its password, for messages."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def default_artifact_root(tracking_uri: str) -> Path | None:
    """`artifacts` beside a SQLite store; None where the server chooses (http, file, databricks)."""
    scheme = urlsplit(tracking_uri).scheme.split("+")[0]
    if scheme == "sqlite":
        database = sa.engine.make_url(tracking_uri).database
        if database and database != ":memory:":
            return Path(database).resolve().parent / "artifacts"
    if scheme in _DATABASE_SCHEMES or scheme == "sqlite":
        raise ConfigError(
            f"The tracking URI {redact(tracking_uri)} is a database, and MLflow would put "
            "artifacts under the current directory. Pass artifact_root (a folder or shared "
            "volume) to ModelRegistry."
        )
    return None


def experiment_id(client: MlflowClient, name: str, artifact_root: Path | None) -> str:
    """The experiment named `name`, created with its artifacts under `artifact_root` if missing."""
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        location = (artifact_root / name).as_uri() if artifact_root else None
        return client.create_experiment(name, artifact_location=location)
    if artifact_root is not None:
        _check_location(name, experiment.artifact_location, artifact_root)
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    return experiment.experiment_id


def _check_location(name: str, location: str, artifact_root: Path) -> None:
    """Refuse to write beside another folder's store: MLflow keeps absolute artifact paths,
    so a moved or copied project would otherwise write into the original's `.shipyard/`."""
    parsed = urlparse(location)
    if parsed.scheme not in ("", "file"):
        return
    stored = Path(unquote(parsed.path)).resolve()
    if stored.is_relative_to(artifact_root):
        return
    raise ConfigError(
        f"The MLflow store keeps the artifacts of model '{name}' in {stored}, outside this "
        f"project's artifact folder {artifact_root}: the project (with its .shipyard/ folder) "
        "was moved or copied. MLflow records absolute artifact paths, so Shipyard will not "
        "write there. Move the project back, delete .shipyard/ here to start a fresh registry, "
        "or set registry.tracking_uri to a shared MLflow server."
    )


def log_values(client: MlflowClient, run_id: str, params: dict[str, Any], metrics: dict[str, float]) -> None:
    """Log params (as strings, truncated to MLflow's limit) and metrics in batches."""
    from mlflow.entities import Metric, Param

    now = int(time.time() * 1000)
    param_list = [Param(str(k), str(v)[:_PARAM_LIMIT]) for k, v in params.items()]
    metric_list = [Metric(k, v, now, 0) for k, v in metrics.items()]
    for start in range(0, len(param_list), _BATCH):
        client.log_batch(run_id, params=param_list[start : start + _BATCH])
    for start in range(0, len(metric_list), _BATCH):
        client.log_batch(run_id, metrics=metric_list[start : start + _BATCH])


def manifest_tag(client: MlflowClient, run_id: str, manifest: dict[str, str]) -> str:
    """The manifest tag value: the JSON itself, or, when too long, the sha256 of a run artifact."""
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    if len(text) <= _MANIFEST_TAG_LIMIT:
        return text
    client.log_text(run_id, text, names.MANIFEST_ARTIFACT)
    return f"sha256:{digest_bytes(text.encode())}"


def discard_run(client: MlflowClient, run_id: str) -> None:
    client.set_terminated(run_id, "FAILED")
    client.delete_run(run_id)


def fetch(client: MlflowClient, tracking_uri: str, info: names.ModelVersionInfo, target: Path) -> None:
    """Download the version's files beside `target`, verify them, then rename them into place.

    A failed or tampered download never appears at `target`.
    """
    from mlflow.artifacts import download_artifacts

    target.parent.mkdir(parents=True, exist_ok=True)
    uri = client.get_model_version_download_uri(info.name, info.version)
    if uri.startswith("file:") and not Path(unquote(urlparse(uri).path)).exists():
        raise ConfigError(
            f"The files of version {info.version} of model '{info.name}' were stored at {uri}, "
            "which no longer exists: the project or its .shipyard/ folder was moved, copied or "
            "cleaned. Restore that folder, or delete .shipyard/ to start a fresh registry."
        )
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    try:
        local = download_artifacts(
            artifact_uri=uri,
            dst_path=str(staging),
            tracking_uri=tracking_uri,
            registry_uri=tracking_uri,
        )
        verify_manifest(Path(local), info.manifest)
        if not target.exists():  # else a concurrent download has just put a verified copy there
            Path(local).rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
