"""Thin helpers over `MlflowClient` calls: where artifacts go, logging a run, fetching files."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


def is_database(tracking_uri: str) -> bool:
    """Whether MLflow reaches this URI through SQLAlchemy (sqlite, postgresql+psycopg2, ...)."""
    return urlsplit(tracking_uri).scheme.split("+")[0] in (_DATABASE_SCHEMES | {"sqlite"})


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
            "artifacts under the current directory. Set registry.artifact_location in "
            "shipyard.yaml (a folder, shared volume or s3:// URL), or pass artifact_root to "
            "ModelRegistry."
        )
    return None


def experiment_id(client: MlflowClient, name: str, artifact_root: Path | str | None) -> str:
    """The experiment named `name`, created with its artifacts under `artifact_root` (a folder or
    a URL such as s3://bucket/prefix) if missing."""
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        if isinstance(artifact_root, Path):
            location: str | None = (artifact_root / name).as_uri()
        else:
            location = f"{artifact_root.rstrip('/')}/{name}" if artifact_root else None
        return client.create_experiment(name, artifact_location=location)
    if isinstance(artifact_root, Path):
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


TAG_REGISTERING = "shipyard.registering"  # on a run until its registration is complete: "host:pid"
_STALE_AFTER_S = 3600  # a registration on another machine is given up after this long


def holder() -> str:
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def discard_stale_runs(client: MlflowClient, experiment_id: str) -> list[str]:
    """Remove what an interrupted registration left (its run and any version made from it):
    runs still tagged as registering by a process of this host that is gone, or older than an hour."""
    import socket

    runs = client.search_runs([experiment_id], filter_string=f"tags.`{TAG_REGISTERING}` != ''")
    removed = []
    for run in runs:
        host, _, pid = run.data.tags.get(TAG_REGISTERING, "").rpartition(":")
        age_s = time.time() - run.info.start_time / 1000
        if host == socket.gethostname() and pid.isdigit() and _alive(int(pid)):
            continue
        if host != socket.gethostname() and age_s < _STALE_AFTER_S:
            continue
        for version in client.search_model_versions(f"run_id = '{run.info.run_id}'"):
            client.delete_model_version(version.name, version.version)
        discard_run(client, run.info.run_id)
        removed.append(run.info.run_id)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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


# MLflow's HTTP client reads these at every call; its defaults retry for minutes (a register
# against a killed server hung ~495 s). Set for our calls only, unless the user set them.
_LIMIT_VARS = (
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER",
)
_limits_lock = threading.Lock()
_limits_depth = 0
_limits_set: list[str] = []


@contextmanager
def remote_limits(timeout_s: int, retries: int) -> Iterator[None]:
    """Bound MLflow's HTTP timeouts and retries inside the block, then restore the environment.

    Nested and concurrent blocks share one setting (the outermost's); a variable the user set
    is left as it is.
    """
    global _limits_depth
    values = dict(zip(_LIMIT_VARS, (str(timeout_s), str(retries), "1", "0.2"), strict=True))
    with _limits_lock:
        if _limits_depth == 0:
            _limits_set[:] = [name for name in _LIMIT_VARS if name not in os.environ]
            for name in _limits_set:
                os.environ[name] = values[name]
        _limits_depth += 1
    try:
        yield
    finally:
        with _limits_lock:
            _limits_depth -= 1
            if _limits_depth == 0:
                for name in _limits_set:
                    os.environ.pop(name, None)
                _limits_set.clear()


_UNREACHABLE = (
    "Max retries exceeded",
    "Connection refused",
    "Connection reset",
    "timed out",
    "timeout expired",
    "could not connect to server",
    "server closed the connection",
)


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) says the service did not answer, rather than refused."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionError | TimeoutError):
            return True
        if any(marker in str(seen) for marker in _UNREACHABLE):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def probe_database(tracking_uri: str, timeout_s: int) -> None:
    """Connect once with a timeout: MLflow's own engine retries ten times with back-off."""
    url = sa.engine.make_url(tracking_uri)
    if url.get_backend_name() == "sqlite":
        return
    args = {"connect_timeout": timeout_s} if url.get_backend_name() == "postgresql" else {}
    engine = sa.create_engine(url, connect_args=args, poolclass=sa.pool.NullPool)
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()


@contextmanager
def store_creation_lock(tracking_uri: str) -> Iterator[None]:
    """Serialise MLflow's schema creation on a SQLite file: two processes migrating one new
    store at once can break it for good (`table _alembic_tmp_latest_metrics already exists`)."""
    url = sa.engine.make_url(tracking_uri)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        yield
        return
    database = Path(url.database)
    database.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{database}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
