"""The rollout state machine on a real MLflow SQLite registry, a real deploy file and real
prediction-log parts; traffic is written between the controller's analyses."""

from __future__ import annotations

import http.server
import itertools
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prediction_parts import traffic, write_part

from shipyard.config.project import Project
from shipyard.delivery import state as st
from shipyard.delivery.controller import RolloutController
from shipyard.delivery.state import RolloutStore
from shipyard.errors import AliasConflict, BusyError, ConfigError, ModelVersionNotFound
from shipyard.registry import ModelRegistry
from shipyard.serving import predlog as log
from shipyard.serving.desired import read_desired
from shipyard.workspace import Workspace

POLICY = """\
name: {name}
data: {source: data.csv, target: label}
entrypoints: {train: model:train}
registry: {tracking_uri: "{tracking}"}
rollout:
  steps: [10, 50, 100]
  step_duration_s: 0.3
  step_deadline_s: 6
  analysis_interval_s: 0.05
  min_requests: 10
  consecutive_violations: 2
  webhook_url: {webhook}
"""


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow pyfunc model folder; the controller never loads it (no label rules here)."""
    import mlflow

    class Identity(mlflow.pyfunc.PythonModel):
        def predict(self, context: object, model_input: list[float], params: None = None) -> list:
            return model_input

    path = tmp_path_factory.mktemp("model") / "model"
    mlflow.pyfunc.save_model(str(path), python_model=Identity(), pip_requirements=["numpy"])
    return path


class Receiver(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's handler name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict]]]:
    """A Slack-style webhook receiver on 127.0.0.1, in a thread."""
    received: list[dict] = []
    handler = type("Handler", (Receiver,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One MLflow SQLite store for the module (creating its schema costs seconds)."""
    return f"sqlite:///{tmp_path_factory.mktemp('store') / 'mlflow.db'}"


_names = itertools.count()


def make_project(
    root: Path, model_dir: Path, tracking_uri: str, webhook_url: str
) -> tuple[Project, ModelRegistry]:
    """A project whose model (a name no other test uses) has versions 1 (production), 2 and 3,
    in the module's registry (`registry.tracking_uri`)."""
    root.mkdir(parents=True)
    policy = POLICY.replace("{webhook}", webhook_url).replace("{tracking}", tracking_uri)
    (root / "shipyard.yaml").write_text(policy.replace("{name}", f"model-{next(_names)}"))
    project = Project.load(root)
    registry = Workspace.open(project).registry
    for i in range(3):
        registry.register(
            model_dir,
            params={},
            metrics={},
            tags={},
            approved=True,
            reports={},
            content_key=f"k{i}",
            actor="t",
        )
    registry.promote("1", "production", actor="t")
    return project, registry


@pytest.fixture
def setup(
    tmp_path: Path, model_dir: Path, tracking_uri: str, webhook
) -> Iterator[tuple[Project, ModelRegistry, RolloutStore]]:
    project, registry = make_project(tmp_path / "p", model_dir, tracking_uri, webhook[0])
    store = RolloutStore(Workspace.open(project).state_url)
    yield project, registry, store
    store.close()
    registry.close()


def traffic_writer(
    root: Path, *, canary_latency: float, seed: int = 0, canary: int = 40, counted_errors: float = 0.0
):
    """A `sleep` for the controller that first writes a burst of traffic with current timestamps,
    and the server's counters file: `counted_errors` of the canary's requests failed there,
    while the log (as when a log fault dropped those rows) shows none."""
    counter = iter(range(10_000))
    totals = {"1": [0, 0], "2": [0, 0]}
    folder = Workspace.open(Project.load(root)).logs.folder(log.PREDICTIONS_DIR)  # what servers write

    def sleep(seconds: float) -> None:
        now = st.now()
        n = next(counter)
        write_part(
            folder, traffic(60, route="production", version="1", latency_ms=5.0, seed=seed + n, start=now)
        )
        if canary:
            columns = traffic(
                canary, route="canary", version="2", latency_ms=canary_latency, seed=n, start=now
            )
            write_part(folder, columns)
        totals["1"][0] += 60
        totals["2"][0] += canary
        totals["2"][1] += round(canary * counted_errors)
        write_counters(folder, "server-a", totals)
        time.sleep(min(seconds, 0.05))

    return sleep


def write_counters(folder: Path, server_id: str, totals: dict[str, list[int]]) -> None:
    """A server's counters file in the documented format (contract 1), replaced atomically."""
    versions = {v: {"requests": r, "errors": e, "rows_scored": r - e, "rows_logged": r - e, "rows_lost": 0}
                for v, (r, e) in totals.items()}  # fmt: skip
    payload = {"server_id": server_id, "started_at": "2026-11-22T12:00:00+00:00",
               "updated_at": st.now().isoformat(), "versions": versions}  # fmt: skip
    path = folder / "_counters" / f"{server_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload))
    tmp.replace(path)


def controller(project: Project, store: RolloutStore, **kwargs) -> RolloutController:
    """The controller of `project`'s workspace (its registry and logs), recording in `store`."""
    return RolloutController(Workspace.open(project), store, actor="tester", **kwargs)


def test_a_good_canary_goes_through_every_step_to_production(setup, webhook):
    project, registry, store = setup
    ctl = controller(project, store, sleep=traffic_writer(project.root, canary_latency=5.0))
    rollout = ctl.start("2")
    assert read_desired(ctl.deploy_path).canary.weight == 0.1
    done = ctl.drive(rollout)
    assert done.status == st.SUCCEEDED and done.step == 2, done.reason
    desired = read_desired(ctl.deploy_path)
    assert (desired.production, desired.previous, desired.canary) == ("2", "1", None)
    assert registry.get("production").version == "2" and registry.get("previous").version == "1"
    actions = [e.action for e in store.events(done.id)]
    assert actions[0] == "start" and actions[-1] == "promote" and actions.count("advance") == 2
    assert [m["event"] for m in webhook[1]] == ["promotion"]
    assert "v2 promoted" in webhook[1][0]["text"] and webhook[1][0]["blocks"]


def test_a_slow_canary_is_rolled_back_with_an_incident_and_the_rejected_alias(setup, webhook):
    project, registry, store = setup
    ctl = controller(project, store, sleep=traffic_writer(project.root, canary_latency=15.0))
    done = ctl.drive(ctl.start("2"))
    assert done.status == st.ROLLED_BACK and done.step == 0 and "latency_p50 model time" in done.reason
    assert read_desired(ctl.deploy_path).canary is None
    assert registry.get("rejected").version == "2" and registry.get("production").version == "1"
    (incident,) = store.incidents(done.id)
    assert incident["evidence"]["fired"] == ["latency_ratio"]
    assert incident["evidence"]["violations"]["latency_ratio"] == 2
    assert [m["event"] for m in webhook[1]] == ["incident"]


def test_errors_the_log_lost_are_seen_in_the_server_counters_and_roll_back(setup, webhook):
    project, registry, store = setup
    sleep = traffic_writer(project.root, canary_latency=5.0, counted_errors=0.2)
    ctl = controller(project, store, sleep=sleep)
    done = ctl.drive(ctl.start("2"))
    assert done.status == st.ROLLED_BACK and done.step == 0, done.reason
    (incident,) = store.incidents(done.id)
    assert incident["evidence"]["fired"] == ["error_rate"]
    assert "from the server counters" in done.reason
    assert incident["evidence"]["figures"]["error_rate"] == pytest.approx(0.2, abs=0.02)
    assert read_desired(ctl.deploy_path).canary is None


def test_a_canary_without_traffic_is_rolled_back_at_the_step_deadline(setup, webhook):
    project, registry, store = setup
    config = project.policy.rollout.model_copy(update={"step_deadline_s": 0.6})
    sleep = traffic_writer(project.root, canary_latency=5.0, canary=0)
    ctl = controller(project, store, sleep=sleep, config=config)
    started = time.monotonic()
    done = ctl.drive(ctl.start("2"))
    assert time.monotonic() - started < 5
    assert done.status == st.ROLLED_BACK and done.step == 0
    assert "no analysable data within the step's deadline of 0.6 s" in done.reason
    assert "0 of 10 canary requests" in done.reason
    (incident,) = store.incidents(done.id)
    assert incident["evidence"]["fired"] == ["no_data_deadline"]
    assert read_desired(ctl.deploy_path).canary is None and registry.get("rejected").version == "2"
    assert [m["event"] for m in webhook[1]] == ["incident"]


def test_a_second_rollout_is_refused_naming_the_running_one(setup):
    project, registry, store = setup
    ctl = controller(project, store)
    first = ctl.start("2")
    with pytest.raises(
        BusyError, match=rf"Rollout {first.id} of version 2 .* running .*shipyard rollout abort"
    ):
        ctl.start("3")
    with pytest.raises(ModelVersionNotFound):
        ctl.start("42")


def test_bad_versions_are_refused_before_anything_changes(setup):
    project, registry, store = setup
    ctl = controller(project, store)
    with pytest.raises(ConfigError, match="already in production"):
        ctl.start("1")
    assert store.latest(registry.model_name, "production") is None
    with pytest.raises(ConfigError, match="No rollout of model 'model-.*' is running"):
        ctl.pause()


def test_pause_holds_resume_continues_abort_returns_all_traffic(setup, webhook):
    project, registry, store = setup
    ctl = controller(project, store)
    rollout = ctl.start("3")
    assert ctl.pause("look at dashboards").status == st.PAUSED
    assert ctl.tick(store.get(rollout.id)).step == 0  # a tick does not advance on no traffic
    assert ctl.resume().status == st.RUNNING
    aborted = ctl.abort("changed my mind")
    assert aborted.status == st.ABORTED and aborted.reason == "changed my mind"
    assert read_desired(ctl.deploy_path).canary is None and ctl.active() is None
    assert [e.action for e in store.events(rollout.id)] == ["start", "pause", "analysis", "resume", "abort"]
    assert [m["event"] for m in webhook[1]] == ["rollback"]


def test_a_restarted_controller_resumes_the_orphaned_rollout_at_its_step(setup):
    project, registry, store = setup
    ctl = controller(project, store)
    rollout = ctl.start("2")
    rollout = store.update(rollout, actor="t", action="advance", reason="test", step=1)
    store.heartbeat(rollout, "999999999@" + __import__("socket").gethostname())  # a pid that is gone
    resumed = ctl.start("2")
    assert (resumed.id, resumed.step) == (rollout.id, 1)
    assert [e.action for e in store.events(rollout.id)][-1] == "resume"
    assert read_desired(ctl.deploy_path).canary.weight == 0.1  # the file is re-applied on the next tick
    ctl.tick(resumed)
    assert read_desired(ctl.deploy_path).canary.weight == 0.5


def test_rollback_returns_production_to_previous_at_once(setup):
    project, registry, store = setup
    ctl = controller(project, store, sleep=traffic_writer(project.root, canary_latency=5.0))
    ctl.drive(ctl.start("2"))
    assert ctl.rollback("bad business numbers") == ("2", "1")
    desired = read_desired(ctl.deploy_path)
    assert (desired.production, desired.previous) == ("1", None)
    assert registry.get("production").version == "1"
    with pytest.raises(AliasConflict, match="no 'previous' version"):
        ctl.rollback("again")


def test_a_broken_webhook_never_breaks_a_rollout(tmp_path, model_dir, tracking_uri):
    project, registry = make_project(
        tmp_path / "p", model_dir, tracking_uri, "http://127.0.0.1:9/unreachable"
    )
    store = RolloutStore(Workspace.open(project).state_url)
    try:
        ctl = controller(project, store, sleep=traffic_writer(project.root, canary_latency=5.0))
        done = ctl.drive(ctl.start("2"))
        assert done.status == st.SUCCEEDED
        failed = [e for e in store.events(done.id) if e.action == "notify_failed"]
        assert failed and "unreachable" in failed[0].reason
    finally:
        store.close()
        registry.close()


def test_a_rollout_ended_by_another_process_is_not_revived_by_a_stale_controller(setup):
    project, registry, store = setup
    driver, operator = controller(project, store), controller(project, store)
    stale = driver.start("2")
    operator.abort("from another terminal")
    after = store.update(stale, actor="driver", action="advance", reason="late decision", step=1)
    assert (after.status, after.step) == (st.ABORTED, 0)
    assert [e.action for e in store.events(stale.id)] == ["start", "abort"]
    assert read_desired(driver.deploy_path).canary is None


def test_an_abort_in_another_clone_reverts_the_desired_state_every_clone_reads(setup):
    project, registry, store = setup
    clone_b = project.root.parent / "clone-b"
    clone_b.mkdir()
    shared_state = f"state: {{url: '{store.url}'}}\n"  # clone A's SQLite file stands for the shared database
    (clone_b / "shipyard.yaml").write_text((project.root / "shipyard.yaml").read_text() + shared_state)
    driver = controller(project, store)
    rollout = driver.start("2")
    assert read_desired(driver.deploy_path).canary.weight == 0.1
    # clone B has no deploy file, only the shared state database (here: clone A's SQLite file)
    operator = controller(Project.load(clone_b), store)
    assert not operator.deploy_path.exists()
    assert operator.abort("from clone B").id == rollout.id
    assert read_desired(operator.deploy_path).canary is None
    newest = driver.desired_log.latest()
    assert newest.state.canary is None and "abort rollout" in newest.reason and newest.actor == "tester"
    assert driver.desired().canary is None and read_desired(driver.deploy_path).canary is None
