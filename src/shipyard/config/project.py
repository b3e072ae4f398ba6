"""A Shipyard project: a folder with `shipyard.yaml` and its policy. Where its operational state
lives is the `shipyard.workspace.Workspace` built from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shipyard.config.loading import POLICY_FILE, load_policy
from shipyard.config.policy import Policy

STATE_DIR = ".shipyard"


@dataclass(frozen=True)
class StoreLocation:
    """Where a project's models are registered: MLflow URI, model name, artifacts, history, and
    the local folder downloads are cached in (see `shipyard.workspace.Workspace`)."""

    tracking_uri: str
    model_name: str
    artifact_root: Path | str | None  # a folder or URL; None: the tracking server decides
    audit_url: str
    cache_dir: Path
    request_timeout_s: int = 30
    max_retries: int = 2


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
        """The embedded default's state folder (git-ignored); what lives where is the
        `shipyard.workspace.Workspace`'s to say, so only it reads this."""
        return self.root / STATE_DIR

    @property
    def schema_path(self) -> Path:
        return self.resolve(self.policy.data.schema_path)

    def resolve(self, relative: str) -> Path:
        path = Path(relative)
        return path if path.is_absolute() else self.root / path
