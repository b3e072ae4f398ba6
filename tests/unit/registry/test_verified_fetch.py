"""fetch_verified: integrity first, then the environment fingerprint under the policy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from shipyard.core.environment import capture_fingerprint
from shipyard.errors import EnvironmentMismatchError
from shipyard.registry import ModelRegistry
from shipyard.registry.verified import fetch_verified


def _register(registry: ModelRegistry, model_dir: Path, tmp_path: Path, fingerprint: dict) -> str:
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    (copy / "shipyard.json").write_text(json.dumps({"fingerprint": fingerprint}))
    info = registry.register(
        copy, params={}, metrics={}, tags={}, approved=True, reports={}, content_key="k", actor="t"
    )
    return info.version


def test_matching_environment_has_no_mismatch(registry, model_dir, tmp_path):
    version = _register(registry, model_dir, tmp_path, capture_fingerprint(["numpy", "pandas"]))
    fetched = fetch_verified(registry, version, on_mismatch="fail")
    assert fetched.mismatches == ()
    assert (fetched.path / "MLmodel").exists()


def test_mismatch_warns_or_fails_by_policy(registry, model_dir, tmp_path, caplog):
    fingerprint = capture_fingerprint(["numpy"])
    fingerprint["packages"]["numpy"] = "0.0.1"
    version = _register(registry, model_dir, tmp_path, fingerprint)
    with caplog.at_level("WARNING"):
        fetched = fetch_verified(registry, version, on_mismatch="warn")
    assert [m.field for m in fetched.mismatches] == ["packages.numpy"]
    assert "0.0.1" in caplog.text
    with pytest.raises(EnvironmentMismatchError, match="numpy.*0.0.1"):
        fetch_verified(registry, version, on_mismatch="fail")
