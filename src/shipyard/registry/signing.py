"""Ed25519 signatures over a version's sha256 manifest, with keys kept outside the registry.

CI holds the private key (`SHIPYARD_SIGNING_KEY`) and signs each version it registers;
servers hold only the public key (`SHIPYARD_VERIFY_KEY`, `serve --verify-key` or
`registry.verify_key`). The signed message binds the model name and version to the
manifest, so whoever can write the registry database and the artifact store can neither
change a file (its hash is in the manifest), nor the manifest, nor move a signature to
another version.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.errors import ConfigError, IntegrityError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

    from shipyard.config.project import Project
    from shipyard.registry._info import ModelVersionInfo

PRIVATE_FILE = "shipyard-signing.pem"
PUBLIC_FILE = "shipyard-verify.pem"
_DOMAIN = "shipyard-manifest-v1"


def generate_keys(out_dir: Path) -> tuple[Path, Path]:
    """Write a new key pair (PEM) into `out_dir`: the private key readable by its owner only."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    out_dir = Path(out_dir)
    private_path, public_path = out_dir / PRIVATE_FILE, out_dir / PUBLIC_FILE
    taken = [p for p in (private_path, public_path) if p.exists()]
    if taken:
        raise ConfigError(
            f"--out: {taken[0]} already exists; refusing to overwrite a key. Choose another folder."
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(private)
    public_path.write_bytes(public)
    return private_path, public_path


def load_private_key(path: Path, *, source: str) -> Ed25519PrivateKey:
    """The Ed25519 private key in PEM file `path`; `source` names where the path came from."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    data = _read(path, source)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(_not_a_key(path, source, "private"))
    return key


def load_public_key(path: Path, *, source: str) -> Ed25519PublicKey:
    """The Ed25519 public key in PEM file `path`; `source` names where the path came from."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = _read(path, source)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(_not_a_key(path, source, "public"))
    return key


def _read(path: Path, source: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the key file {path}: {exc.strerror or exc}.") from None


def _not_a_key(path: Path, source: str, kind: str) -> str:
    return (
        f"{source}: {path} is not an Ed25519 {kind} key in PEM form. Create a key pair with "
        "'shipyard keys generate --out DIR'."
    )


def _message(model: str, version: str, manifest: dict[str, str]) -> bytes:
    body = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    return f"{_DOMAIN}\n{model}\n{version}\n{body}".encode()


def sign_manifest(key: Ed25519PrivateKey, model: str, version: str, manifest: dict[str, str]) -> str:
    """The signature (base64) of `manifest` as the files of version `version` of `model`."""
    return base64.b64encode(key.sign(_message(model, version, manifest))).decode()


def check_signature(info: ModelVersionInfo, key: Ed25519PublicKey) -> None:
    """Raise `IntegrityError` unless `info` carries a valid signature of its manifest by `key`."""
    from cryptography.exceptions import InvalidSignature

    where = f"Version {info.version} of model '{info.name}'"
    if not info.signature:
        raise IntegrityError(
            f"{where} is not signed, and this loader requires signed versions (a verify key is "
            "configured); refusing to load it. Register it from CI with SHIPYARD_SIGNING_KEY set."
        )
    if not info.manifest:
        raise IntegrityError(f"{where} has no manifest to check its signature against; refusing to load it.")
    try:
        signature = base64.b64decode(info.signature, validate=True)
        key.verify(signature, _message(info.name, info.version, info.manifest))
    except (InvalidSignature, ValueError):
        raise IntegrityError(
            f"{where} has a signature that does not match its manifest under the configured "
            "verify key: its files or manifest were changed after signing, or it was signed with "
            "another key. Refusing to load it."
        ) from None


def verify_key_for(project: Project, override: Path | None = None) -> Ed25519PublicKey | None:
    """The public key a loader of `project` checks signatures with, or None: `override`
    (`serve --verify-key`), then `SHIPYARD_VERIFY_KEY`, then `registry.verify_key`."""
    from shipyard.config.settings import SHIPYARD_VERIFY_KEY

    if override is not None:
        return load_public_key(override, source="--verify-key")
    from_env = SHIPYARD_VERIFY_KEY.get()
    if from_env:
        return load_public_key(Path(from_env), source=f"${SHIPYARD_VERIFY_KEY.name}")
    configured = project.policy.registry.verify_key
    if configured:
        return load_public_key(project.resolve(configured), source="shipyard.yaml: registry.verify_key")
    return None


def signing_key() -> Ed25519PrivateKey | None:
    """The private key `SHIPYARD_SIGNING_KEY` names, or None when it is not set."""
    from shipyard.config.settings import SHIPYARD_SIGNING_KEY

    path = SHIPYARD_SIGNING_KEY.get()
    return load_private_key(Path(path), source=f"${SHIPYARD_SIGNING_KEY.name}") if path else None
