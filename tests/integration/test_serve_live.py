"""`shipyard serve` as a real process: shadow mode, and SIGTERM under load losing no logged request."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import httpx
import pytest
from cli_helpers import Cli
from serve_helpers import Server, logged_rows, record, trained_project

from shipyard.serving.desired import read_desired

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return trained_project(tmp_path_factory.mktemp("serve") / "tiny")


def test_shadow_predictions_land_in_the_log_and_responses_come_only_from_production(project: Cli) -> None:
    with Server(project.project, ("--shadow", "2")) as server:
        described = httpx.get(f"{server.url}/v1/models").json()
        assert described["production"]["version"] == "1" and described["shadow"]["version"] == "2"
        ids = []
        with httpx.Client(base_url=server.url) as client:
            for i in range(10):
                response = client.post("/predict", json=[record(i), record(i + 1)])
                assert response.status_code == 200
                body = response.json()
                assert (body["model_version"], body["route"]) == ("1", "production")
                ids.append(body["request_id"])
        code, err = server.stop()
    assert code == 0, err
    rows = [r for r in logged_rows(project.project) if r["request_id"] in set(ids)]
    expected = {(i, row) for i in ids for row in (0, 1)}
    for route, version in (("production", "1"), ("shadow", "2")):
        mine = [r for r in rows if r["route"] == route]
        assert {(r["request_id"], r["row"]) for r in mine} == expected
        assert {(r["model_version"], r["status"]) for r in mine} == {(version, "ok")}


async def _load_until_refused(url: str, stop_after: float, pid_signal: asyncio.Event) -> list[httpx.Response]:
    """Keep 32 requests in flight until the server stops answering; signal once `stop_after` s passed."""
    responses: list[httpx.Response] = []
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def worker(n: int) -> None:
            i = 0
            while True:
                try:
                    responses.append(await client.post("/predict", json=[record(n * 1000 + i)] * (1 + i % 3)))
                except httpx.TransportError:
                    return
                i += 1

        loop = asyncio.get_running_loop()
        loop.call_later(stop_after, pid_signal.set)
        await asyncio.gather(*[worker(n) for n in range(32)])
    return responses


def test_sigterm_under_load_every_answered_request_is_in_the_log(project: Cli) -> None:
    server = Server(project.project).__enter__()
    fired = asyncio.Event()

    async def main() -> list[httpx.Response]:
        async def terminate() -> None:
            await fired.wait()
            server.terminate()

        terminator = asyncio.get_running_loop().create_task(terminate())
        responses = await _load_until_refused(server.url, 2.0, fired)
        await terminator
        return responses

    try:
        responses = asyncio.run(main())
    finally:
        code, err = server.stop()
    assert code == 0, err
    answered = [r for r in responses if r.status_code == 200]
    assert len(answered) > 20  # the signal arrived while the server was busy
    assert all(r.status_code in (200, 503) for r in responses)
    logged = {(r["request_id"], r["row"]) for r in logged_rows(Path(project.project))}
    for response in answered:
        request_id = response.json()["request_id"]
        assert all((request_id, row) in logged for row in range(len(response.json()["predictions"])))


def _deploy(project: Path, production: str, **extra: object) -> Path:
    from shipyard.serving.desired import DesiredState, write_desired

    return write_desired(
        project / "deploy" / "production.yaml", DesiredState(model="tiny", production=production, **extra)
    )


def _wait_for(url: str, predicate, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = httpx.get(f"{url}/v1/models").json()
        if predicate(described):
            return described
        time.sleep(0.2)
    raise AssertionError(f"/v1/models never matched: {described}")


def test_hot_swap_under_load_fails_no_request_and_refuses_bad_deploys(project: Cli) -> None:
    root = Path(project.project)
    desired = _deploy(root, "1")
    with Server(root, ("--desired", str(desired))) as server:
        versions: list[str] = []
        failures: list[int] = []
        stop = asyncio.Event()

        async def load() -> None:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:

                async def worker(n: int) -> None:
                    while not stop.is_set():
                        response = await client.post("/predict", json=[record(n)])
                        if response.status_code != 200:
                            failures.append(response.status_code)
                        versions.append(response.json().get("model_version", "?"))

                async def swap() -> None:
                    await asyncio.sleep(0.5)
                    _deploy(root, "2", previous="1")
                    deadline = time.monotonic() + 60
                    while "2" not in versions[-5:] and time.monotonic() < deadline:
                        await asyncio.sleep(0.05)
                    await asyncio.sleep(0.5)
                    stop.set()

                await asyncio.gather(swap(), *[worker(n) for n in range(8)])

        asyncio.run(load())
        assert failures == []
        assert versions[0] == "1"
        assert set(versions[-10:]) == {"2"}  # switched, and stayed switched
        described = _wait_for(server.url, lambda d: d["production"]["version"] == "2")
        assert described["previous"] == "1" and described["last_error"] is None

        _deploy(root, "99")
        described = _wait_for(server.url, lambda d: d["last_error"] is not None)
        assert described["production"]["version"] == "2"
        assert "server log" in described["last_error"] and "99" not in described["last_error"]  # details: log

        # Tamper with the cached copy of version 1, then ask for it back: refused, 2 keeps serving.
        cached = root / ".shipyard" / "models-cache" / "tiny" / "1"
        estimator = cached / "artifacts" / "estimator" / "estimator.skops"
        estimator.write_bytes(estimator.read_bytes() + b"tampered")
        _deploy(root, "1")
        deadline = time.monotonic() + 60
        while (
            'shipyard_model_loads_total{result="failed"} 2.0' not in httpx.get(f"{server.url}/metrics").text
        ):
            assert time.monotonic() < deadline, "the tampered version was never refused"
            time.sleep(0.2)
        described = httpx.get(f"{server.url}/v1/models").json()
        assert described["production"]["version"] == "2" and described["last_error"] is not None
        response = httpx.post(f"{server.url}/predict", json=[record(0)])
        assert response.status_code == 200 and response.json()["model_version"] == "2"
        code, err = server.stop()
    assert code == 0, err
    assert "99" in err and "sha256" in err.lower()  # both refusals are explained in the server log
    shutil.rmtree(cached)  # the next download fetches a clean copy


def test_a_missing_deploy_file_is_written_from_the_production_alias(project: Cli) -> None:
    desired = project.project / "deploy" / "fresh.yaml"
    with Server(project.project, ("--desired", str(desired))) as server:
        models = httpx.get(f"{server.url}/v1/models", timeout=10).json()
    assert read_desired(desired).production == "1"
    assert "1" in str(models)


def test_a_malformed_deploy_file_blocks_no_newer_revision_and_is_applied_once_fixed(project: Cli) -> None:
    from shipyard.serving.desired import DesiredState
    from shipyard.workspace.desired import DesiredLog

    root = Path(project.project)
    desired = _deploy(root, "1")
    log = DesiredLog(f"sqlite:///{root / '.shipyard' / 'shipyard.db'}", "tiny", "production")
    with Server(root, ("--desired", str(desired))) as server:
        _wait_for(server.url, lambda d: d["production"]["version"] == "1")
        desired.write_text("model: tiny\nproduction: [\n")  # a hand edit gone wrong
        _wait_for(server.url, lambda d: d["desired_file_error"] is not None)
        newest = log.latest()
        assert newest is not None
        other = DesiredState(model="tiny", production="2", previous="1")
        log.record(other, after=newest.number, actor="elsewhere", reason="a rollout on another machine")
        described = _wait_for(server.url, lambda d: d["production"]["version"] == "2")
        assert described["desired_revision"] == newest.number + 1
        assert described["desired_file_error"].startswith("production.yaml: malformed YAML")
        assert httpx.post(f"{server.url}/predict", json=[record(0)]).json()["model_version"] == "2"
        desired.write_text("model: tiny\nproduction: '1'\n")  # fixed: recorded as the newest, applied
        described = _wait_for(
            server.url, lambda d: d["production"]["version"] == "1" and d["desired_file_error"] is None
        )
        assert described["desired_revision"] == newest.number + 2
        code, err = server.stop()
    assert code == 0, err
    assert "production.yaml cannot be read, so it is not applied" in err and "can be read again" in err
