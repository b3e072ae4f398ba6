"""Fetch a registered model for use: files verified against the manifest, environment
compared with the fingerprint recorded at training, policy deciding warn or fail."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from shipyard.core.environment import Mismatch, capture_fingerprint, compare_fingerprints
from shipyard.errors import EnvironmentMismatchError
from shipyard.registry._info import ModelVersionInfo
from shipyard.registry.store import ModelRegistry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifiedModel:
    info: ModelVersionInfo
    path: Path
    mismatches: tuple[Mismatch, ...]


def fetch_verified(registry: ModelRegistry, ref: str, *, on_mismatch: str = "warn") -> VerifiedModel:
    """Download (or reuse) a version's files, verify them, and check its environment.

    Raises `IntegrityError` for a tampered file and, when `on_mismatch` is "fail",
    `EnvironmentMismatchError` listing every difference; with "warn" they are logged.
    """
    info = registry.get(ref)
    path = registry.download(info.version)
    recorded = json.loads((path / "shipyard.json").read_text()).get("fingerprint", {})
    current = capture_fingerprint(recorded.get("packages", {}))
    mismatches = tuple(compare_fingerprints(recorded, current))
    if mismatches:
        listing = "; ".join(str(m) for m in mismatches)
        message = (
            f"Version {info.version} of model '{registry.model_name}' was trained in another "
            f"environment: {listing}."
        )
        if on_mismatch == "fail":
            raise EnvironmentMismatchError(
                f"{message} Policy environment.on_mismatch is 'fail': install the recorded versions "
                "or retrain in this environment."
            )
        logger.warning("%s Predictions may differ.", message)
    return VerifiedModel(info, path, mismatches)
