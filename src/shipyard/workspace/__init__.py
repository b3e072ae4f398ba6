"""One object that owns where a project's operational state lives.

A `Workspace` is built once from a `Project` and handed to what needs state: the model
registry (MLflow: the embedded SQLite file, a database URL with an artifact location, or an
HTTP tracking server), the state database (SQLAlchemy: alias history, rollouts, retrain
decisions, locks, the desired-state log servers follow), the local download cache, the
prediction and feedback logs and the run reports, shared through an object store when one is
configured. The `state:` and `registry:` sections of shipyard.yaml, then `SHIPYARD_STATE_URL`
and `MLFLOW_TRACKING_URI`, select them; unset, everything stays under `.shipyard/` and no
service is needed.

Examples:
    >>> from shipyard.config import parse_policy
    >>> from shipyard.config.project import Project
    >>> policy = parse_policy({"name": "demo", "data": {"source": "d.csv", "target": "y"},
    ...                        "entrypoints": {"train": "m:t"}})
    >>> ws = Workspace.open(Project(Path("/srv/demo"), policy), env={})
    >>> ws.state_url, ws.shared_state
    ('sqlite:////srv/demo/.shipyard/shipyard.db', False)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.config.project import Project, StoreLocation
from shipyard.config.settings import MLFLOW_TRACKING_URI, SHIPYARD_OBJECT_STORE, SHIPYARD_STATE_URL

if TYPE_CHECKING:
    from shipyard.registry.store import ModelRegistry
    from shipyard.workspace.desired import DesiredLog
    from shipyard.workspace.logs import LogLocation
    from shipyard.workspace.objects import ObjectStore

__all__ = ["Workspace"]


@dataclass(frozen=True)
class Workspace:
    """Where a project's models, records and caches live; see the module docstring."""

    project: Project
    tracking_uri: str
    artifact_location: Path | str | None  # None: the tracking server decides
    state_url: str
    object_store: str | None = None  # a folder or URL clones share the stage cache through
    smoke: bool = False

    @classmethod
    def open(
        cls, project: Project, *, smoke: bool = False, env: Mapping[str, str] | None = None
    ) -> Workspace:
        """The workspace `project`'s configuration and the environment (`env`, default
        `os.environ`) select. Smoke runs always use their own embedded store under `.shipyard/smoke`."""
        environ = os.environ if env is None else env
        state_dir = project.state_dir
        if smoke:
            root = state_dir / "smoke"
            return cls(
                project,
                f"sqlite:///{root / 'mlflow.db'}",
                root / "artifacts",
                f"sqlite:///{root / 'shipyard.db'}",
                smoke=True,
            )
        registry = project.policy.registry
        tracking = registry.tracking_uri or environ.get(MLFLOW_TRACKING_URI.name)
        artifact: Path | str | None
        if tracking is None:
            tracking, artifact = f"sqlite:///{state_dir / 'mlflow.db'}", state_dir / "artifacts"
        elif registry.artifact_location and "://" not in registry.artifact_location:
            artifact = project.resolve(registry.artifact_location)
        else:
            artifact = registry.artifact_location
        state_url = (
            project.policy.state.url
            or environ.get(SHIPYARD_STATE_URL.name)
            or f"sqlite:///{state_dir / 'shipyard.db'}"
        )
        objects = project.policy.state.object_store or environ.get(SHIPYARD_OBJECT_STORE.name) or None
        return cls(project, _with_driver(tracking), artifact, _with_driver(state_url), objects)

    def for_smoke(self) -> Workspace:
        """The embedded workspace smoke runs register into, beside this one (`.shipyard/smoke`)."""
        return self if self.smoke else Workspace.open(self.project, smoke=True)

    def __getstate__(self) -> dict[str, object]:
        """The configuration without the opened handles (registry, object store): a process
        this workspace is sent to (a Ray task) opens its own on first use."""
        return {k: v for k, v in self.__dict__.items() if k not in ("registry", "objects")}

    @property
    def model_name(self) -> str:
        name = self.project.policy.model_name
        return f"{name}-smoke" if self.smoke else name

    @property
    def shared_state(self) -> bool:
        """Whether the state database is a server other clones reach (not a SQLite file)."""
        return not self.state_url.startswith("sqlite")

    @property
    def model_cache(self) -> Path:
        """Verified local copies of downloaded versions, one folder per version (per machine)."""
        return (
            self.project.state_dir
            / ("smoke/models-cache" if self.smoke else "models-cache")
            / self.model_name
        )

    @property
    def rollout_url(self) -> str:
        """Where rollouts and the desired-state log are recorded: `rollout.database_url`, else the
        state database."""
        return self.project.policy.rollout.database_url or self.state_url

    def desired_log(self, environment: str) -> DesiredLog:
        """The desired-state revisions of this model in `environment` (see `workspace.desired`)."""
        from shipyard.workspace.desired import DesiredLog

        return DesiredLog(self.rollout_url, self.model_name, environment)

    @property
    def cache_dir(self) -> Path:
        """Where stage outputs (and the HTML report's plots) are cached by content in this clone,
        shared through `objects` (`shipyard.pipeline.cache`)."""
        return self.project.state_dir / "cache"

    @property
    def stat_index(self) -> Path:
        """The file-stat index that spares hashing unchanged data and code files again."""
        return self.project.state_dir / "stat-index.json"

    @property
    def logs_dir(self) -> Path:
        """Where this machine's servers write the logs (`predictions/`, `feedback/`)."""
        return self.project.state_dir

    @property
    def logs(self) -> LogLocation:
        """The logs: written under `logs_dir`, shared as `logs/<model>/…` in the object store if any."""
        from shipyard.workspace.logs import LogLocation

        if self.objects is None:
            return LogLocation(self.logs_dir)
        return LogLocation(
            self.logs_dir,
            self.objects,
            f"logs/{self.model_name}",
            self.project.state_dir / "logs-cache" / self.model_name,
            self.project.policy.state.logs_cache_days,
        )

    @property
    def reports_dir(self) -> Path:
        """Where `shipyard run` writes a version's report files: `<reports_dir>/<version>/`."""
        return self.project.state_dir / "reports"

    @property
    def monitoring_dir(self) -> Path:
        """Where `shipyard monitor drift` writes its JSON and HTML reports by default."""
        return self.project.state_dir / "monitoring"

    def report_key(self, version: str, name: str) -> str:
        """The object store key of a version's report file (shared when a store is configured)."""
        return f"reports/{self.model_name}/{version}/{name}"

    def store_location(self) -> StoreLocation:
        registry = self.project.policy.registry
        return StoreLocation(
            self.tracking_uri,
            self.model_name,
            self.artifact_location,
            self.state_url,
            self.model_cache,
            registry.request_timeout_s,
            registry.max_retries,
        )

    @cached_property
    def registry(self) -> ModelRegistry:
        """The model registry, opened on first use (MLflow is imported then)."""
        from shipyard.registry.store import ModelRegistry

        return ModelRegistry.at(self.store_location())

    @cached_property
    def objects(self) -> ObjectStore | None:
        """The shared object store, or None for the embedded default (everything in .shipyard/)."""
        if self.object_store is None:
            return None
        from shipyard.workspace.objects import open_object_store

        return open_object_store(self.object_store, self.project.root)

    def lock(self, name: str, *, purpose: str) -> AbstractContextManager[None]:
        """A lock every clone sharing this workspace respects: a lease row in the shared state
        database, or a `flock` in `.shipyard/` for the embedded default. `BusyError` if held."""
        if self.shared_state:
            from shipyard.workspace.lease import lease

            return lease(
                self.state_url,
                f"{self.project.policy.model_name}/{name}",
                purpose=purpose,
                lease_s=self.project.policy.state.lease_s,
                busy_hint="Wait for it to finish; a holder that died frees the lock within state.lease_s.",
            )
        from shipyard.retrain.lock import retrain_lock

        return retrain_lock(self.project.state_dir / f"{name}.lock", purpose=purpose)


def _with_driver(url: str) -> str:
    """`postgresql://` with the driver that is installed: SQLAlchemy 2.1 means psycopg 3 by it,
    while `psycopg2-binary` is what many set-ups (and MLflow's docs) have."""
    from importlib.util import find_spec

    if url.startswith("postgresql://") and find_spec("psycopg") is None and find_spec("psycopg2"):
        return "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    return url
