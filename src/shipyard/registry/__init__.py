"""The model registry: immutable versions in MLflow, moving aliases, an integrity manifest,
and the history of every alias move. Importing this package does not import MLflow."""

from shipyard.registry._info import ModelVersionInfo, check_alias
from shipyard.registry.history import AliasEvent, AliasHistory
from shipyard.registry.integrity import build_manifest, verify_manifest
from shipyard.registry.store import ModelRegistry

__all__ = [
    "AliasEvent",
    "AliasHistory",
    "ModelRegistry",
    "ModelVersionInfo",
    "build_manifest",
    "check_alias",
    "verify_manifest",
]
