"""The deploy file and its git commits, the webhook payload, and traffic replay against a local server."""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
from collections.abc import Iterator

import pandas as pd
import pytest

from shipyard.delivery import gitops
from shipyard.delivery.notify import Notification
from shipyard.delivery.replay import ReplayPlan, check_loopback, load_rows, replay
from shipyard.errors import ConfigError
from shipyard.serving.desired import DesiredState, read_desired, write_desired
from shipyard.workspace.desired import DesiredLog, update


def test_steps_set_the_canary_weight_and_zero_means_shadow():
    state = DesiredState(model="m", production="1")
    assert gitops.with_step(state, "2", 5).canary.weight == 0.05
    shadow = gitops.with_step(state, "2", 0)
    assert (shadow.shadow, shadow.canary) == ("2", None)
    assert gitops.without_candidate(gitops.with_step(state, "2", 50)) == state


def test_the_deploy_file_is_written_only_when_it_changes_and_committed_alone(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    path = gitops.deploy_file(tmp_path, "production")
    write_desired(path, gitops.initial_state("m", "1"))
    (tmp_path / "other.txt").write_text("not mine")
    log = DesiredLog(f"sqlite:///{tmp_path / '.shipyard' / 'shipyard.db'}", "m", "production")
    state, written = update(path, log, lambda s: gitops.with_step(s, "2", 25), actor="tester", reason="25%")
    assert written and read_desired(path) == state
    assert gitops.commit(path, "rollout: 2 at 25%", actor="tester") is None
    shown = subprocess.run(
        ["git", "show", "--stat", "--format=%B"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert (
        "rollout: 2 at 25%\n\nShipyard-Actor: tester" in shown
        and "deploy/production.yaml" in shown
        and "other.txt" not in shown
    )
    assert update(path, log, lambda s: gitops.with_step(s, "2", 25), actor="tester", reason="25%") == (
        state,
        False,
    )


def test_a_commit_outside_a_git_repository_reports_instead_of_raising(tmp_path):
    path = gitops.deploy_file(tmp_path / "no-repo", "production")
    write_desired(path, gitops.initial_state("m", "1"))
    error = gitops.commit(path, "x", actor="tester")
    assert error is not None and "git add" in error


def test_notifications_are_slack_compatible_json():
    payload = Notification(
        "incident", "fraud v4 rolled back", "latency 3x production", {"incident": "7"}
    ).payload()
    assert payload["text"].startswith(":rotating_light: fraud v4 rolled back")
    assert payload["blocks"][0]["type"] == "header"
    assert payload["blocks"][2]["fields"] == [{"type": "mrkdwn", "text": "*incident*\n7"}]
    json.dumps(payload)


@pytest.mark.parametrize(
    "url", ["http://10.0.0.5:8000", "http://example.com", "ftp://127.0.0.1", "127.0.0.1"]
)
def test_replay_refuses_anything_but_loopback(url):
    with pytest.raises(ConfigError, match="only to a server on this machine"):
        check_loopback(url)


def test_replay_accepts_loopback_names():
    assert check_loopback("http://localhost:8000/") == "http://localhost:8000"
    assert check_loopback("http://[::1]:80") == "http://[::1]:80"


def test_rows_drop_the_target_unless_kept(tmp_path):
    frame = pd.DataFrame(
        {"x": [1.5, None], "when": pd.to_datetime(["2026-01-01", "2026-01-02"]), "y": [0, 1]}
    )
    frame.to_parquet(tmp_path / "rows.parquet")
    records, labels = load_rows(tmp_path / "rows.parquet", target="y")
    assert records[0] == {"x": 1.5, "when": "2026-01-01T00:00:00.000"} and records[1]["x"] is None
    assert labels == [0, 1]
    kept, _ = load_rows(tmp_path / "rows.parquet", target="y", keep_target=True)
    assert kept[0]["y"] == 0
    with pytest.raises(ConfigError, match="No file to replay"):
        load_rows(tmp_path / "missing.csv", target="y")


class FakeModelServer(http.server.BaseHTTPRequestHandler):
    """Answers /predict like the model server (version header, its own request id), /feedback with 202."""

    seen: list[tuple[str, dict, dict, str]] = []

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's handler name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        issued = f"server-id-{len(self.seen)}"
        type(self).seen.append((self.path, dict(self.headers), body, issued))
        status = 500 if self.path == "/predict" and body["records"][0].get("x") == 13 else 200
        self.send_response(202 if self.path == "/feedback" else status)
        self.send_header("x-model-version", "7")
        self.send_header("x-request-id", issued)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[tuple[str, list]]:
    seen: list = []
    handler = type("Handler", (FakeModelServer,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()
    thread.join()


def test_replay_sends_paced_requests_with_ids_and_posts_feedback(local_server):
    url, seen = local_server
    records = [{"x": 1}, {"x": 2}, {"x": 3}]
    result = replay(ReplayPlan(url, rps=50, duration=0.2, feedback=True), records, ["a", "b", "c"])
    assert (result.sent, result.ok, result.failed, result.feedback) == (10, 10, 0, 10)
    assert result.versions == {"7": 10}
    predicts = [s for s in seen if s[0] == "/predict"]
    feedback = {s[2][0]["request_id"]: s[2][0]["label"] for s in seen if s[0] == "/feedback"}
    for _, headers, body, issued in predicts:
        label = "abc"[body["records"][0]["x"] - 1]
        assert feedback[issued] == label and headers["X-Request-Key"]  # labelled under the server's id


def test_replay_counts_failed_requests(local_server):
    url, _ = local_server
    result = replay(ReplayPlan(url, rps=40, duration=0.1), [{"x": 13}])
    assert (result.sent, result.ok, result.failed) == (4, 0, 4) and result.errors == {"HTTP 500": 4}
    assert result.to_dict()["failed"] == 4
