"""Fetch a registered model for use: the manifest's signature checked (when a verify key is
configured), files verified against the manifest, environment compared with the fingerprint
recorded at training, policy deciding warn or fail."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.core.environment import Mismatch, capture_fingerprint, compare_fingerprints
from shipyard.errors import EnvironmentMismatchError
from shipyard.registry._info import ModelVersionInfo
from shipyard.registry.integrity import verify_manifest
from shipyard.registry.signing import check_signature
from shipyard.registry.store import ModelRegistry

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifiedModel:
    info: ModelVersionInfo
    path: Path
    mismatches: tuple[Mismatch, ...]


def fetch_verified(
    registry: ModelRegistry,
    ref: str,
    *,
    on_mismatch: str = "warn",
    verify_key: Ed25519PublicKey | None = None,
) -> VerifiedModel:
    """Download (or reuse) a version's files, verify them, and check its environment.

    With `verify_key`, the version must carry a valid signature of its manifest, and the
    files are checked against that signed manifest. Raises `IntegrityError` for an unsigned
    or badly signed version or a tampered file and, when `on_mismatch` is "fail",
    `EnvironmentMismatchError` listing every difference; with "warn" they are logged.
    """
    info = registry.get(ref)
    path = download_signed(registry, info, verify_key)
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


def download_signed(
    registry: ModelRegistry, info: ModelVersionInfo, verify_key: Ed25519PublicKey | None
) -> Path:
    """The version's verified files; with `verify_key`, checked against the signed manifest."""
    if verify_key is None:
        return registry.download(info.version)
    check_signature(info, verify_key)
    path = registry.download(info.version)
    # The registry re-reads its database to verify: check again against the manifest whose
    # signature was checked here, so a database changed in between cannot slip a file through.
    verify_manifest(path, info.manifest)
    return path
