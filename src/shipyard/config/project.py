"""A Shipyard project: a folder with `shipyard.yaml`, its policy, and where its state lives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shipyard.config.loading import POLICY_FILE, load_policy
from shipyard.config.policy import Policy
from shipyard.config.settings import MLFLOW_TRACKING_URI

STATE_DIR = ".shipyard"


@dataclass(frozen=True)
class StoreLocation:
    """Where a project's models are registered: MLflow URI, model name, artifacts, history."""

    tracking_uri: str
    model_name: str
    artifact_root: Path | None  # None: the tracking server (or MLflow's default) decides
    audit_url: str


@dataclass(frozen=True)
class Project:
    root: Path
    policy: Policy

    @classmethod
    def load(cls, root: str | Path = ".") -> Project:
        root = Path(root).resolve()
        return cls(root=root, policy=load_policy(root / POLICY_FILE))

    @property
    def state_dir(self) -> Path:
        """Cache, stat index, MLflow store and reports live here (git-ignored)."""
        return self.root / STATE_DIR

    @property
    def tracking_uri(self) -> str:
        return (
            self.policy.registry.tracking_uri
            or MLFLOW_TRACKING_URI.get()
            or f"sqlite:///{self.state_dir / 'mlflow.db'}"
        )

    def store(self, *, smoke: bool = False) -> StoreLocation:
        """The project's registry; smoke runs use their own embedded store under `.shipyard/smoke`.

        Artifacts go under `.shipyard/artifacts` only for the embedded default store; with a
        configured tracking URI the server (or MLflow's default for that URI) decides.
        """
        if smoke:
            root = self.state_dir / "smoke"
            return StoreLocation(
                f"sqlite:///{root / 'mlflow.db'}",
                f"{self.policy.model_name}-smoke",
                root / "artifacts",
                f"sqlite:///{root / 'shipyard.db'}",
            )
        embedded = not (self.policy.registry.tracking_uri or MLFLOW_TRACKING_URI.get())
        artifact_root = self.state_dir / "artifacts" if embedded else None
        return StoreLocation(self.tracking_uri, self.policy.model_name, artifact_root, self.audit_url)

    @property
    def audit_url(self) -> str:
        """SQLAlchemy URL of Shipyard's own records (alias history)."""
        return f"sqlite:///{self.state_dir / 'shipyard.db'}"

    @property
    def schema_path(self) -> Path:
        return self.resolve(self.policy.data.schema_path)

    def resolve(self, relative: str) -> Path:
        path = Path(relative)
        return path if path.is_absolute() else self.root / path
