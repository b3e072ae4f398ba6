from pathlib import Path

from shipyard.config import parse_policy
from shipyard.config.project import Project

BASE = {"name": "demo", "data": {"source": "d.csv", "target": "y"}, "entrypoints": {"train": "m:t"}}


def test_embedded_store_keeps_artifacts_in_the_project(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    store = Project(tmp_path, parse_policy(BASE)).store()
    assert store.tracking_uri == f"sqlite:///{tmp_path / '.shipyard' / 'mlflow.db'}"
    assert store.artifact_root == tmp_path / ".shipyard" / "artifacts"
    assert store.model_name == "demo"


def test_a_tracking_server_decides_where_artifacts_go(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    policy = parse_policy({**BASE, "registry": {"tracking_uri": "http://mlflow.internal:5000"}})
    store = Project(tmp_path, policy).store()
    assert store.tracking_uri == "http://mlflow.internal:5000" and store.artifact_root is None
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://other:5000")
    assert Project(tmp_path, parse_policy(BASE)).store().artifact_root is None


def test_smoke_has_its_own_embedded_store(tmp_path: Path):
    store = Project(tmp_path, parse_policy(BASE)).store(smoke=True)
    assert store.model_name == "demo-smoke"
    assert store.artifact_root == tmp_path / ".shipyard" / "smoke" / "artifacts"
