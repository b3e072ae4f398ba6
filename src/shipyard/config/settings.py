"""Environment variables Shipyard reads, declared once, each with its meaning."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class EnvVar:
    name: str
    doc: str
    default: str | None = None

    def get(self) -> str | None:
        return os.environ.get(self.name, self.default)


MLFLOW_TRACKING_URI = EnvVar(
    "MLFLOW_TRACKING_URI", "MLflow tracking/registry URI; overrides the embedded SQLite default."
)
SHIPYARD_STATE_URL = EnvVar(
    "SHIPYARD_STATE_URL",
    "SQLAlchemy URL of the shared state database (alias history, rollouts, retrain decisions, "
    "locks), when state.url is not set. Default: .shipyard/shipyard.db.",
)
SHIPYARD_OBJECT_STORE = EnvVar(
    "SHIPYARD_OBJECT_STORE",
    "Folder or s3:// URL where clones share the stage cache, when state.object_store is not set. "
    "Default: none (the cache stays in .shipyard/cache).",
)
RAY_ADDRESS = EnvVar(
    "RAY_ADDRESS",
    "Ray cluster the `ray` executor joins (e.g. ray://head:10001); unset, a local Ray instance starts.",
)
SHIPYARD_ACTOR = EnvVar(
    "SHIPYARD_ACTOR", "Who is recorded in the alias history; defaults to $GITHUB_ACTOR, then the login name."
)
MODEL_DIR_ENV = EnvVar(
    "SHIPYARD_MODEL_DIR",
    "A packaged model folder the pytest plugin's `shipyard_model` loads instead of a registered version.",
)
SHIPYARD_SIGNING_KEY = EnvVar(
    "SHIPYARD_SIGNING_KEY",
    "Ed25519 private key (PEM) that signs each registered version's manifest; set it in CI only.",
)
SHIPYARD_VERIFY_KEY = EnvVar(
    "SHIPYARD_VERIFY_KEY",
    "Ed25519 public key (PEM): loaders refuse versions that are unsigned or badly signed.",
)

GITHUB_STEP_SUMMARY = EnvVar(
    "GITHUB_STEP_SUMMARY", "Set by GitHub Actions: `shipyard run` appends its Markdown report to this file."
)


def actor() -> str:
    """The person or bot recorded as making a change."""
    import getpass

    explicit = SHIPYARD_ACTOR.get() or os.environ.get("GITHUB_ACTOR")
    if explicit:
        return explicit
    try:
        return getpass.getuser()  # $LOGNAME, $USER, ..., then the password database
    except (OSError, KeyError):
        return "unknown"
