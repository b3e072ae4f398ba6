"""The sha256 manifest: what it records and every way a changed model folder is caught."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from shipyard.errors import ConfigError, IntegrityError
from shipyard.registry import build_manifest, verify_manifest


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    (root / "artifacts" / "deep").mkdir(parents=True)
    (root / "MLmodel").write_text("flavors: {}\n")
    (root / "artifacts" / "estimator.joblib").write_bytes(bytes(range(256)))
    (root / "artifacts" / "deep" / "b.txt").write_text("b")
    return root


def test_manifest_maps_sorted_posix_paths_to_sha256(folder: Path) -> None:
    manifest = build_manifest(folder)
    assert list(manifest) == ["MLmodel", "artifacts/deep/b.txt", "artifacts/estimator.joblib"]
    assert manifest["artifacts/estimator.joblib"] == hashlib.sha256(bytes(range(256))).hexdigest()


def test_manifest_follows_symlinks_like_the_artifact_upload(folder: Path, tmp_path: Path) -> None:
    outside = tmp_path / "weights.bin"
    outside.write_bytes(b"w")
    os.symlink(outside, folder / "weights.bin")
    assert build_manifest(folder)["weights.bin"] == hashlib.sha256(b"w").hexdigest()


def test_broken_link_is_a_config_error_naming_the_file(folder: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "gone", folder / "artifacts" / "dangling.pkl")
    with pytest.raises(ConfigError, match="'artifacts/dangling.pkl'.*not a regular file"):
        build_manifest(folder)


def test_missing_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist or is not a directory"):
        build_manifest(tmp_path / "nope")


def test_unchanged_folder_verifies(folder: Path) -> None:
    verify_manifest(folder, build_manifest(folder))


def test_changed_byte_names_file_and_both_digests(folder: Path) -> None:
    manifest = build_manifest(folder)
    target = folder / "artifacts" / "estimator.joblib"
    data = bytearray(target.read_bytes())
    data[100] ^= 0x01
    target.write_bytes(bytes(data))
    expected = manifest["artifacts/estimator.joblib"][:12]
    got = hashlib.sha256(bytes(data)).hexdigest()[:12]
    with pytest.raises(IntegrityError) as info:
        verify_manifest(folder, manifest)
    message = str(info.value)
    assert "Model file 'artifacts/estimator.joblib' does not match its registered sha256" in message
    assert f"expected {expected}…, got {got}…" in message
    assert message.endswith("refusing to load it.")


def test_missing_file_is_caught(folder: Path) -> None:
    manifest = build_manifest(folder)
    (folder / "artifacts" / "deep" / "b.txt").unlink()
    with pytest.raises(IntegrityError, match="'artifacts/deep/b.txt' is missing"):
        verify_manifest(folder, manifest)


def test_extra_file_is_caught(folder: Path) -> None:
    manifest = build_manifest(folder)
    (folder / "artifacts" / "backdoor.py").write_text("import os")
    with pytest.raises(IntegrityError, match="'artifacts/backdoor.py' is not in the registered"):
        verify_manifest(folder, manifest)


def test_every_problem_is_listed(folder: Path) -> None:
    manifest = build_manifest(folder)
    (folder / "MLmodel").write_text("changed")
    (folder / "artifacts" / "deep" / "b.txt").unlink()
    (folder / "extra").write_text("x")
    with pytest.raises(IntegrityError, match="3 model files") as info:
        verify_manifest(folder, manifest)
    for name in ("'MLmodel'", "'artifacts/deep/b.txt'", "'extra'"):
        assert name in str(info.value)
