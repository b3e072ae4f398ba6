"""Signed manifests on a real MLflow SQLite store: what someone with write access to the registry
database and the artifact store can change, and that a loader with the public key refuses it."""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from shipyard.errors import ConfigError, IntegrityError
from shipyard.registry import ModelRegistry
from shipyard.registry._info import TAG_MANIFEST, TAG_SIGNATURE
from shipyard.registry.integrity import build_manifest
from shipyard.registry.signing import (
    PRIVATE_FILE,
    PUBLIC_FILE,
    generate_keys,
    load_private_key,
    load_public_key,
)
from shipyard.registry.verified import fetch_verified


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_keys(tmp_path_factory.mktemp("keys"))


def _register(registry: ModelRegistry, model_dir: Path, tmp_path: Path, key_file: Path | None) -> str:
    copy = shutil.copytree(model_dir, tmp_path / f"model-{len(list(tmp_path.iterdir()))}")
    key = None if key_file is None else load_private_key(key_file, source="test")
    info = registry.register(
        copy,
        params={},
        metrics={},
        tags={},
        approved=True,
        reports={},
        content_key=copy.name,
        actor="t",
        signing_key=key,
    )
    return info.version


def _files(registry: ModelRegistry, version: str) -> Path:
    uri = registry._client.get_model_version_download_uri(registry.model_name, version)
    return Path(unquote(urlparse(uri).path))


def _set_tag(registry: ModelRegistry, version: str, key: str, value: str) -> None:
    """What an attacker with the database does: one SQL UPDATE."""
    database = registry.tracking_uri.removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:
        db.execute(
            "UPDATE model_version_tags SET value = ? WHERE name = ? AND version = ? AND key = ?",
            (value, registry.model_name, int(version), key),
        )


def _forget_cache(registry: ModelRegistry) -> None:
    shutil.rmtree(registry.artifact_root.parent / "models-cache" / registry.model_name, ignore_errors=True)


def test_generated_keys_are_pem_and_the_private_one_is_private(keys, tmp_path: Path) -> None:
    private, public = keys
    assert (private.name, public.name) == (PRIVATE_FILE, PUBLIC_FILE)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    with pytest.raises(ConfigError, match="already exists; refusing to overwrite"):
        generate_keys(private.parent)


@pytest.mark.parametrize("content", [b"not a key", b""])
def test_a_file_that_is_not_a_key_is_named_with_its_source(tmp_path: Path, keys, content: bytes) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_bytes(content)
    with pytest.raises(ConfigError, match=r"\$SHIPYARD_VERIFY_KEY: .*bad.pem is not an Ed25519 public key"):
        load_public_key(bad, source="$SHIPYARD_VERIFY_KEY")
    with pytest.raises(ConfigError, match="is not an Ed25519 public key"):
        load_public_key(keys[0], source="--verify-key")  # the private key where the public one goes
    with pytest.raises(ConfigError, match="cannot read the key file"):
        load_private_key(tmp_path / "missing.pem", source="$SHIPYARD_SIGNING_KEY")


def test_a_signed_version_loads_with_the_public_key(registry, model_dir, tmp_path, keys) -> None:
    version = _register(registry, model_dir, tmp_path, keys[0])
    assert registry.get(version).signature
    fetched = fetch_verified(registry, version, verify_key=load_public_key(keys[1], source="test"))
    assert (fetched.path / "MLmodel").is_file()


def test_an_unsigned_version_is_refused_when_a_key_is_configured(registry, model_dir, tmp_path, keys) -> None:
    version = _register(registry, model_dir, tmp_path, None)
    assert fetch_verified(registry, version).path.is_dir()  # without a key: the sha256 check only
    with pytest.raises(IntegrityError, match=f"Version {version} .* is not signed"):
        fetch_verified(registry, version, verify_key=load_public_key(keys[1], source="test"))


def test_changed_files_with_a_recomputed_manifest_are_refused(registry, model_dir, tmp_path, keys) -> None:
    version = _register(registry, model_dir, tmp_path, keys[0])
    files = _files(registry, version)
    (files / "shipyard.json").write_text('{"features": ["x"], "payload": "changed"}')
    _set_tag(registry, version, TAG_MANIFEST, json.dumps(build_manifest(files), sort_keys=True))
    _forget_cache(registry)
    # The sha256 check alone is fooled: the manifest matches the changed files.
    assert fetch_verified(registry, version).path.is_dir()
    _forget_cache(registry)
    with pytest.raises(IntegrityError, match="signature that does not match its manifest"):
        fetch_verified(registry, version, verify_key=load_public_key(keys[1], source="test"))


def test_a_signature_moved_from_another_version_or_key_is_refused(
    registry, model_dir, tmp_path, keys
) -> None:
    public = load_public_key(keys[1], source="test")
    first = _register(registry, model_dir, tmp_path, keys[0])
    second = _register(registry, model_dir, tmp_path, None)
    registry._client.set_model_version_tag(
        registry.model_name, second, TAG_SIGNATURE, registry.get(first).signature
    )
    with pytest.raises(IntegrityError, match="signature that does not match"):
        fetch_verified(registry, second, verify_key=public)
    other_private, _ = generate_keys(tmp_path / "other")
    third = _register(registry, model_dir, tmp_path, other_private)
    with pytest.raises(IntegrityError, match="signed with another key"):
        fetch_verified(registry, third, verify_key=public)
    _set_tag(registry, first, TAG_SIGNATURE, "%%% not base64 %%%")
    with pytest.raises(IntegrityError, match="signature that does not match"):
        fetch_verified(registry, first, verify_key=public)
