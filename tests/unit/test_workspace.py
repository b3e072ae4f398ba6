from pathlib import Path

import pytest

from shipyard.config import parse_policy
from shipyard.config.project import Project
from shipyard.errors import BusyError
from shipyard.workspace import Workspace
from shipyard.workspace.lease import lease

BASE = {"name": "demo", "data": {"source": "d.csv", "target": "y"}, "entrypoints": {"train": "m:t"}}


def test_embedded_default_keeps_everything_in_the_project(tmp_path: Path):
    ws = Workspace.open(Project(tmp_path, parse_policy(BASE)), env={})
    store = ws.store_location()
    assert store.tracking_uri == f"sqlite:///{tmp_path / '.shipyard' / 'mlflow.db'}"
    assert store.artifact_root == tmp_path / ".shipyard" / "artifacts"
    assert store.model_name == "demo"
    assert store.audit_url == f"sqlite:///{tmp_path / '.shipyard' / 'shipyard.db'}"
    assert store.cache_dir == tmp_path / ".shipyard" / "models-cache" / "demo"
    assert not ws.shared_state


def test_a_tracking_server_decides_where_artifacts_go_and_downloads_still_have_a_cache(tmp_path: Path):
    policy = parse_policy({**BASE, "registry": {"tracking_uri": "http://mlflow.internal:5000"}})
    store = Workspace.open(Project(tmp_path, policy), env={}).store_location()
    assert store.tracking_uri == "http://mlflow.internal:5000" and store.artifact_root is None
    assert store.cache_dir == tmp_path / ".shipyard" / "models-cache" / "demo"
    env = {"MLFLOW_TRACKING_URI": "http://other:5000"}
    assert Workspace.open(Project(tmp_path, parse_policy(BASE)), env=env).tracking_uri == "http://other:5000"


def test_a_database_tracking_uri_takes_the_artifact_location_and_a_shared_state_url(tmp_path: Path):
    policy = parse_policy(
        {
            **BASE,
            "registry": {"tracking_uri": "postgresql+psycopg2://db/mlflow", "artifact_location": "s3://b/m"},
            "state": {"url": "postgresql+psycopg2://db/shipyard"},
        }
    )
    ws = Workspace.open(Project(tmp_path, policy), env={})
    assert ws.artifact_location == "s3://b/m" and ws.shared_state
    relative = parse_policy(
        {**BASE, "registry": {"tracking_uri": "sqlite:///x.db", "artifact_location": "art"}}
    )
    assert Workspace.open(Project(tmp_path, relative), env={}).artifact_location == tmp_path / "art"
    env = {"SHIPYARD_STATE_URL": "postgresql+psycopg2://other/s"}
    assert (
        Workspace.open(Project(tmp_path, parse_policy(BASE)), env=env).state_url == env["SHIPYARD_STATE_URL"]
    )


def test_the_object_store_is_off_by_default_and_set_by_the_file_or_the_environment(tmp_path: Path):
    assert Workspace.open(Project(tmp_path, parse_policy(BASE)), env={}).objects is None
    env = {"SHIPYARD_OBJECT_STORE": "shared-cache"}
    ws = Workspace.open(Project(tmp_path, parse_policy(BASE)), env=env)
    assert ws.objects is not None and ws.objects.description == str(tmp_path / "shared-cache")
    policy = parse_policy({**BASE, "state": {"object_store": "s3://bucket/cache"}})
    assert Workspace.open(Project(tmp_path, policy), env=env).object_store == "s3://bucket/cache"


def test_smoke_has_its_own_embedded_store(tmp_path: Path):
    store = Workspace.open(Project(tmp_path, parse_policy(BASE)), smoke=True).store_location()
    assert store.model_name == "demo-smoke"
    assert store.artifact_root == tmp_path / ".shipyard" / "smoke" / "artifacts"


def test_a_workspace_hands_smoke_runs_its_embedded_twin_whatever_the_environment(tmp_path: Path):
    shared = Workspace.open(
        Project(tmp_path, parse_policy(BASE)), env={"MLFLOW_TRACKING_URI": "http://mlflow:5000"}
    )
    smoke = shared.for_smoke()
    assert smoke.smoke and smoke.project is shared.project and smoke.for_smoke() is smoke
    assert smoke.tracking_uri == f"sqlite:///{tmp_path / '.shipyard' / 'smoke' / 'mlflow.db'}"


def test_every_state_folder_comes_from_the_workspace(tmp_path: Path):
    ws = Workspace.open(Project(tmp_path, parse_policy(BASE)), env={})
    state = tmp_path / ".shipyard"
    assert (ws.cache_dir, ws.stat_index) == (state / "cache", state / "stat-index.json")
    assert (ws.reports_dir, ws.monitoring_dir, ws.logs_dir) == (
        state / "reports",
        state / "monitoring",
        state,
    )


def test_a_pickled_workspace_leaves_its_open_handles_behind(tmp_path: Path):
    """A Ray task gets the configuration and opens its own registry and store."""
    import pickle

    ws = Workspace.open(Project(tmp_path, parse_policy(BASE)), env={"SHIPYARD_OBJECT_STORE": "team"})
    assert ws.objects is not None and "objects" in ws.__dict__
    copy = pickle.loads(pickle.dumps(ws))
    assert copy == ws and "objects" not in copy.__dict__
    assert copy.objects is not None and copy.objects is not ws.objects


def test_a_lease_refuses_a_second_holder_names_the_first_and_frees_on_exit(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with lease(url, "m/retrain", purpose="retrain of m", lease_s=60, busy_hint="Wait."):
        with (
            pytest.raises(BusyError, match=r"Retrain of m is already running \(pid \d+ on"),
            lease(url, "m/retrain", purpose="retrain of m", lease_s=60, busy_hint="Wait."),
        ):
            pass
        with lease(url, "other/retrain", purpose="retrain of other", lease_s=60, busy_hint=""):
            pass
    with lease(url, "m/retrain", purpose="retrain of m", lease_s=60, busy_hint=""):
        pass


def test_an_expired_lease_is_taken_over(tmp_path: Path):
    import sqlalchemy as sa

    from shipyard.workspace.lease import LEASES

    url = f"sqlite:///{tmp_path / 'state.db'}"
    with lease(url, "m/retrain", purpose="retrain of m", lease_s=60, busy_hint=""):
        engine = sa.create_engine(url)
        with engine.begin() as conn:  # a holder that died: its lease stopped being renewed
            conn.execute(sa.text("UPDATE shipyard_leases SET token = 'dead', expires_at = '2000-01-01'"))
        with (
            lease(url, "m/retrain", purpose="retrain of m", lease_s=60, busy_hint=""),
            engine.connect() as conn,
        ):
            assert conn.execute(sa.select(LEASES.c.token)).scalar_one() != "dead"
        engine.dispose()


def test_a_plain_postgresql_url_gets_the_installed_driver(tmp_path: Path):
    from importlib.util import find_spec

    env = {"SHIPYARD_STATE_URL": "postgresql://db/s", "MLFLOW_TRACKING_URI": "postgresql://db/m"}
    ws = Workspace.open(Project(tmp_path, parse_policy(BASE)), env=env)
    expected = "postgresql+psycopg2://" if find_spec("psycopg") is None else "postgresql://"
    assert ws.state_url == f"{expected}db/s" and ws.tracking_uri == f"{expected}db/m"


def test_an_unreachable_state_database_is_named_not_a_crash():
    import socket

    import sqlalchemy as sa

    from shipyard.core.sql import open_engine
    from shipyard.errors import ServiceUnavailableError

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg2://ops:s3cret@127.0.0.1:{port}/state"
    with pytest.raises(ServiceUnavailableError, match="state.url / SHIPYARD_STATE_URL") as info:
        open_engine(url, sa.MetaData())
    assert f"ops:***@127.0.0.1:{port}/state" in str(info.value) and "s3cret" not in str(info.value)


def test_logs_stay_in_the_project_unless_an_object_store_shares_them(tmp_path: Path):
    embedded = Workspace.open(Project(tmp_path, parse_policy(BASE)), env={})
    assert (
        embedded.logs.store is None
        and embedded.logs.readable("predictions") == tmp_path / ".shipyard" / "predictions"
    )
    shared = Workspace.open(Project(tmp_path, parse_policy(BASE)), env={"SHIPYARD_OBJECT_STORE": "team"}).logs
    assert shared.local == tmp_path / ".shipyard" and shared.prefix == "logs/demo"
    assert shared.key("feedback", "host-1-ab", "date=2026-12-01/p.parquet") == (
        "logs/demo/feedback/server=host-1-ab/date=2026-12-01/p.parquet"
    )
    assert shared.readable("predictions") == tmp_path / ".shipyard" / "logs-cache" / "demo" / "predictions"
    assert shared.retention_days == 30.0  # state.logs_cache_days
    policy = parse_policy({**BASE, "state": {"logs_cache_days": 3}})
    assert (
        Workspace.open(Project(tmp_path, policy), env={"SHIPYARD_OBJECT_STORE": "team"}).logs.retention_days
        == 3
    )
