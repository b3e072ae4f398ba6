"""Attacks on model loading through the real CLI, a real MLflow SQLite store and a real server.

Whoever can write the registry database and the artifact store can replace a model file
and recompute its sha256 with one SQL UPDATE; signed manifests and safe formats must stop
that from reaching a server. Names and paths are checked before any work.
"""

from __future__ import annotations

import json
import pickle
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx
import pytest
from cli_helpers import Cli, write_tiny_project
from serve_helpers import Server, record

from shipyard.registry.integrity import build_manifest
from shipyard.serving.desired import DesiredState, write_desired

pytestmark = pytest.mark.integration


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def _registry(project: Path):
    from shipyard.config.project import Project
    from shipyard.workspace import Workspace

    return Workspace.open(Project.load(project)).registry


def _artifact_dir(project: Path, version: str) -> Path:
    registry = _registry(project)
    uri = registry._client.get_model_version_download_uri(registry.model_name, version)
    return Path(unquote(urlparse(uri).path))


def _replace_manifest(project: Path, version: str, files: Path) -> None:
    """The attacker's SQL UPDATE: the manifest tag recomputed for the changed files."""
    manifest = json.dumps(build_manifest(files), sort_keys=True, separators=(",", ":"))
    with sqlite3.connect(project / ".shipyard" / "mlflow.db") as db:
        db.execute(
            "UPDATE model_version_tags SET value = ? WHERE version = ? AND key = 'shipyard.manifest'",
            (manifest, int(version)),
        )
    for cache in (project / ".shipyard").glob("models-cache"):
        import shutil

        shutil.rmtree(cache)


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "keys"
    command = [sys.executable, "-m", "shipyard.cli", "keys", "generate", "--out", str(out)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0 and "private key" in proc.stdout, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["shipyard-signing.pem", "shipyard-verify.pem"]
    return out / "shipyard-signing.pem", out / "shipyard-verify.pem"


def _train(cli: Cli, monkeypatch: pytest.MonkeyPatch, signing_key: Path | None, c: float) -> None:
    policy = cli.project / "shipyard.yaml"
    text = policy.read_text()
    policy.write_text(text.replace(text[text.index("params:") : text.index("\n", text.index("params:"))],
                                   f"params: {{C: {c}}}"))  # fmt: skip
    if signing_key is None:
        monkeypatch.delenv("SHIPYARD_SIGNING_KEY", raising=False)
    else:
        monkeypatch.setenv("SHIPYARD_SIGNING_KEY", str(signing_key))
    cli("run", check=0)
    monkeypatch.delenv("SHIPYARD_SIGNING_KEY", raising=False)


def test_a_server_with_the_public_key_serves_only_signed_unchanged_versions(
    tmp_path: Path, keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    private, public = keys
    cli = Cli(write_tiny_project(tmp_path / "p"))
    cli("schema", "infer", check=0)
    _train(cli, monkeypatch, private, 1.0)  # version 1, signed
    _train(cli, monkeypatch, None, 0.5)  # version 2, unsigned
    _train(cli, monkeypatch, private, 0.1)  # version 3, signed, then tampered with
    report = json.loads(next((cli.project / ".shipyard" / "reports").rglob("3/report.json")).read_text())
    assert report["model_format"] == {"format": "skops", "allow_pickle": False, "signed": True}
    cli("promote", "1", "--to", "production", check=0)
    deploy = write_desired(
        cli.project / "deploy" / "production.yaml", DesiredState(model="tiny", production="1")
    )

    # an admin token: /v1/models shows the reason of a refused swap only to admins
    admin = {"Authorization": "Bearer admin-secret-token"}
    tokens = {"SHIPYARD_TOKENS": "admin-secret-token admin"}
    with Server(cli.project, ("--desired", str(deploy), "--verify-key", str(public)), env=tokens) as server:
        response = httpx.post(f"{server.url}/predict", json=[record(0)], headers=admin)
        assert response.status_code == 200 and response.json()["model_version"] == "1"
        # A hot swap to an unsigned version is refused; version 1 keeps serving.
        write_desired(deploy, DesiredState(model="tiny", production="2", previous="1"))
        described = _wait_for_error(server.url, "not signed", headers=admin)
        assert described["production"]["version"] == "1"
        again = httpx.post(f"{server.url}/predict", json=[record(1)], headers=admin)
        assert again.json()["model_version"] == "1"
        code, err = server.stop()
    assert code == 0, err

    # Version 3: a file changed in the artifact store and the manifest recomputed in the database.
    files = _artifact_dir(cli.project, "3")
    metadata = json.loads((files / "shipyard.json").read_text())
    (files / "shipyard.json").write_text(json.dumps({**metadata, "target": "x1"}))
    _replace_manifest(cli.project, "3", files)
    cli("promote", "3", "--to", "production", check=0)
    refused = cli("serve", "--port", "0", "--verify-key", str(public), check=1)
    assert "Version 3 of model 'tiny' has a signature that does not match its manifest" in refused.stderr
    assert "Traceback" not in refused.stderr
    cli("promote", "2", "--to", "production", check=0)
    monkeypatch.setenv("SHIPYARD_VERIFY_KEY", str(public))  # the key from the environment works too
    unsigned = cli("serve", "--port", "0", check=1)
    assert "Version 2 of model 'tiny' is not signed" in unsigned.stderr


def _wait_for_error(url: str, text: str, *, headers: dict[str, str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    described: dict = {}
    while time.monotonic() < deadline:
        described = httpx.get(f"{url}/v1/models", headers=headers).json()
        if described.get("last_error") and text in described["last_error"]:
            return described
        time.sleep(0.2)
    raise AssertionError(f"/v1/models never reported {text!r}: {described}")


def test_a_registered_pickle_payload_is_never_run_by_serve(tmp_path: Path) -> None:
    """The attack of the report: the artifact swapped for a pickle, the manifest recomputed.
    Without allow_pickle the server refuses before unpickling: the marker never appears."""
    cli = Cli(write_tiny_project(tmp_path / "p"))
    cli("schema", "infer", check=0)
    cli("run", check=0)
    cli("promote", "1", "--to", "production", check=0)
    marker = tmp_path / "marker"
    files = _artifact_dir(cli.project, "1")
    estimator = files / "artifacts" / "estimator"
    for old in estimator.iterdir():
        old.unlink()
    (estimator / "estimator.joblib").write_bytes(pickle.dumps(_Payload(marker)))
    metadata = json.loads((files / "shipyard.json").read_text())
    (files / "shipyard.json").write_text(json.dumps({**metadata, "format": "pickle"}))
    _replace_manifest(cli.project, "1", files)

    refused = cli("serve", "--port", "0", check=2)
    assert "saved with pickle" in refused.stderr and "allow_pickle: true" in refused.stderr
    assert not marker.exists()
    checked = cli("env", "check", "1", check=0)  # reading metadata only: still nothing unpickled
    assert "Environment matches" in checked.stdout and not marker.exists()


def test_allow_pickle_is_explicit_and_shown_in_the_report(tmp_path: Path) -> None:
    custom = """\
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression


class Wrapped(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.inner_ = LogisticRegression().fit(X, y)
        self.classes_ = self.inner_.classes_
        return self

    def predict_proba(self, X):
        return self.inner_.predict_proba(X)

    def predict(self, X):
        return self.inner_.predict(X)


def features(df):
    return pd.DataFrame({"x1": df.x1, "x2": df.x2, "g": (df.color == "g").astype(int)})


def train(X, y, params):
    return Wrapped().fit(X, y)
"""
    cli = Cli(write_tiny_project(tmp_path / "p", model_py=custom))
    cli("schema", "infer", check=0)
    refused = cli("run", check=2)
    assert "model.Wrapped" in refused.stderr and "trusted_types" in refused.stderr
    policy = cli.project / "shipyard.yaml"
    policy.write_text(policy.read_text() + "model_format: {trusted_types: [model.Wrapped]}\n")
    cli("run", check=0)  # trusted in shipyard.yaml: saved with skops
    policy.write_text(policy.read_text().replace("trusted_types: [model.Wrapped]", "allow_pickle: true"))
    cli("run", "--report-dir", "out", check=0)  # allowed, and skops cannot trust it: pickle
    report = json.loads((cli.project / "out" / "report.json").read_text())
    assert report["model_format"] == {"format": "pickle", "allow_pickle": True, "signed": False}
    assert "Pickle allowed" in (cli.project / "out" / "report.md").read_text()


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (("name: tiny", "name: '..'"), "shipyard.yaml: name:"),
        (("name: tiny", "name: tiny\nregistry: {model_name: a/b}"), "shipyard.yaml: registry.model_name:"),
        (("source: data.csv", "source: ../../etc/passwd"), "shipyard.yaml: data.source:"),
        (("target: label", "target: label\n  schema: ../../etc/passwd"), "shipyard.yaml: data.schema:"),
    ],
)
def test_bad_names_and_escaping_paths_stop_before_any_work(
    tiny: Cli, edit: tuple[str, str], key: str
) -> None:
    policy = tiny.project / "shipyard.yaml"
    policy.write_text(policy.read_text().replace(*edit))
    proc = tiny("run", check=2)
    assert key in proc.stderr and "Traceback" not in proc.stderr
    assert not (tiny.project / ".shipyard" / "cache").exists()


def test_an_absolute_data_path_is_taken_as_meant(tiny: Cli) -> None:
    policy = tiny.project / "shipyard.yaml"
    absolute = (tiny.project / "data.csv").resolve()
    policy.write_text(policy.read_text().replace("source: data.csv", f"source: {absolute}"))
    tiny("schema", "infer", check=0)


def test_an_unusable_state_folder_is_a_usage_error_naming_the_path(tiny: Cli) -> None:
    tiny("schema", "infer", check=0)
    (tiny.project / ".shipyard").write_text("not a folder")
    proc = tiny("run", check=2)
    assert ".shipyard" in proc.stderr and "Traceback" not in proc.stderr and "bug" not in proc.stderr
