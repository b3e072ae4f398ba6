"""`shipyard serve --workers 2`: two processes on one port, one log partition each, metrics and
request ids shared, and a SIGTERM to the parent that stops both with their logs flushed."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from serve_helpers import Server, log_folder, logged_rows, record, trained_project

from shipyard.serving import predlog
from shipyard.serving.counters import counters_dir

pytestmark = pytest.mark.integration

REQUESTS = 60


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workers") / "tiny"
    trained_project(root)
    return root


def _predict(url: str, i: int) -> dict[str, Any]:
    # httpx.post opens a new connection per call, so the kernel spreads them over the workers.
    response = httpx.post(f"{url}/predict", json=[record(i), record(i + 1)], timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _requests_total(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    ok = re.findall(r'^shipyard_requests_total\{[^}]*status="ok"\} (\S+)$', text, re.M)
    return sum(float(v) for v in ok)


def test_two_workers_share_the_port_the_metrics_and_the_request_ids(project: Path, tmp_path: Path) -> None:
    with Server(project, ("--workers", "2"), env={"TMPDIR": str(tmp_path)}) as server:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda i: _predict(server.url, i), range(REQUESTS)))
        # Whichever worker answers /metrics reports both workers' requests.
        assert {_requests_total(server.url) for _ in range(10)} == {float(REQUESTS)}
        # Feedback for every id, over new connections: ids one worker issued are accepted by the other.
        labels = [
            httpx.post(f"{server.url}/feedback", json={"request_id": a["request_id"], "label": 1}, timeout=10)
            for a in answers
        ]
        assert [r.status_code for r in labels] == [202] * REQUESTS, labels[0].text
        code, err = server.stop()
    assert code == 0, err
    assert "Traceback" not in err
    assert not list(tmp_path.glob("shipyard-metrics-*")), "the parent removes the metrics folder"

    log_dir = log_folder(project)
    per_worker = {
        path.stem: sum(v["requests"] for v in json.loads(path.read_text())["versions"].values())
        for path in counters_dir(log_dir).glob("*.json")
    }
    assert len(per_worker) == 2 and min(per_worker.values()) > 0, per_worker  # both workers served
    assert sum(per_worker.values()) == REQUESTS
    assert {p.name for p in (log_dir / predlog.WAL_DIR).iterdir()} <= set(per_worker)
    mine = {a["request_id"] for a in answers}
    rows = Counter((r["request_id"], r["row"]) for r in logged_rows(project) if r["request_id"] in mine)
    assert rows == Counter({(rid, row): 1 for rid in mine for row in (0, 1)})  # every row once


def test_a_worker_that_cannot_start_stops_the_server_with_its_error(project: Path, tmp_path: Path) -> None:
    bad = tmp_path / "deploy.yaml"
    bad.write_text("model: tiny\nproduction: '99'\n")
    with pytest.raises(AssertionError, match="server did not start") as failed:
        Server(project, ("--workers", "2", "--desired", str(bad))).__enter__()
    assert "99" in str(failed.value)


def test_every_worker_applies_the_deploy_file(project: Path, tmp_path: Path) -> None:
    from shipyard.serving.desired import DesiredState, read_desired, write_desired

    counters = counters_dir(log_folder(project))
    before = set(counters.glob("*.json"))
    desired = tmp_path / "deploy" / "production.yaml"
    with Server(project, ("--workers", "2", "--desired", str(desired))) as server:
        assert read_desired(desired).production == "1"  # written once, by the parent
        write_desired(desired, DesiredState(model="tiny", production="2", previous="1"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            versions = {_predict(server.url, i)["model_version"] for i in range(20)}
            if versions == {"2"}:
                break
            time.sleep(0.2)
        assert versions == {"2"}
        code, err = server.stop()
    assert code == 0, err
    served = [json.loads(p.read_text())["versions"] for p in set(counters.glob("*.json")) - before]
    assert len(served) == 2 and all(v.get("2", {}).get("requests") for v in served), served


def test_a_worker_that_dies_stops_the_server(project: Path) -> None:
    wal = log_folder(project) / predlog.WAL_DIR
    before = set(wal.iterdir()) if wal.is_dir() else set()
    with Server(project, ("--workers", "2")) as server:
        _predict(server.url, 0)
        pids = [int(path.name.split("-")[-2]) for path in set(wal.iterdir()) - before]
        assert len(pids) == 2
        os.kill(pids[0], signal.SIGKILL)
        code = server.proc.wait(timeout=90)
        err = server.proc.stderr.read() if server.proc.stderr else ""
    assert code == 3, err
    assert f"worker (pid {pids[0]}) exited with code -9" in err
    with pytest.raises(ProcessLookupError):
        os.kill(pids[1], 0)  # the other worker was stopped too
