"""Logs and reports on real team services: a server started from a fresh folder writes its
prediction and feedback partitions to S3 (the moto emulator), `shipyard monitor` in another
clone reads every row of them, and the fresh folder shows the run report that clone stored.
PostgreSQL and `mlflow server` hold the registry and state as in test_team_services.py."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import httpx
import pytest
from cli_helpers import Cli, write_tiny_project
from serve_helpers import Server, record
from team_helpers import services, team_yaml, use_s3

pytestmark = [pytest.mark.integration, pytest.mark.services]

SHARED = "state:\n  object_store: s3://shipyard-team/team-logs\n"
REQUESTS, ROWS, LABELLED = 30, 4, 10  # 120 rows: above monitoring.min_rows (100)


def _project(root: Path, svc: services.Services) -> Path:
    yaml = team_yaml(svc.tracking_uri, svc.state_url, "team-logs").replace("state:\n", SHARED)
    return write_tiny_project(root, extra_yaml=yaml)


def test_a_server_elsewhere_writes_through_s3_and_monitor_in_a_clone_counts_its_rows(
    tmp_path: Path, team_services: services.Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = team_services
    use_s3(monkeypatch, svc)
    a = Cli(_project(tmp_path / "a", svc))
    a("schema", "infer", check=0)
    a("run", check=0)
    a("promote", "1", "--to", "production", check=0)

    fresh = _project(tmp_path / "c", svc)
    with Server(fresh) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        issued = []
        for i in range(REQUESTS):
            answer = client.post("/predict", json=[record(i * ROWS + j) for j in range(ROWS)])
            assert answer.status_code == 200, answer.text
            issued.append(answer.json()["request_id"])
        labels = [{"request_id": r, "row": j, "label": j % 2} for r in issued[:LABELLED] for j in range(ROWS)]
        assert client.post("/feedback", json=labels).status_code == 202
        server_id = client.get("/v1/models").json()["prediction_log"]["server_id"]
        code, err = server.stop()
        assert code == 0, err
    assert not list((fresh / ".shipyard").rglob("*.parquet")), "every part was uploaded"

    s3 = boto3.client("s3", endpoint_url=svc.s3_endpoint)
    keys = [
        o["Key"] for o in s3.list_objects_v2(Bucket="shipyard-team", Prefix="team-logs/logs/")["Contents"]
    ]
    for kind in ("predictions", "feedback"):
        assert any(k.startswith(f"team-logs/logs/team-logs/{kind}/server={server_id}/date=") for k in keys), (
            keys
        )

    drift = a("monitor", "drift", "--window", "1d", "--json", str(tmp_path / "drift.json"))
    assert drift.returncode in (0, 1), drift.stderr  # pass or drift: either way a verdict on the rows
    assert json.loads((tmp_path / "drift.json").read_text())["summary"]["current_rows"] == REQUESTS * ROWS
    performance = a("monitor", "performance", "--window", "1d", "--json", str(tmp_path / "perf.json"))
    assert performance.returncode in (0, 1), performance.stderr
    assert json.loads((tmp_path / "perf.json").read_text())["rows"] == LABELLED * ROWS
    assert not (a.project / ".shipyard" / "predictions").exists()  # clone A never served: all from S3

    shown = Cli(fresh)("report", "1", "--format", "json", check=0)  # the run report clone A stored
    assert str(json.loads(shown.stdout)["version"]) == "1"
    assert (fresh / ".shipyard" / "reports" / "1" / "report.json").is_file(), "fetched from S3"
