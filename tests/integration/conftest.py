"""Fixtures for integration tests (helpers live in cli_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import Cli, write_tiny_project


@pytest.fixture
def tiny(tmp_path: Path) -> Cli:
    return Cli(write_tiny_project(tmp_path / "tiny"))


@pytest.fixture(scope="session")
def team_services(tmp_path_factory: pytest.TempPathFactory):
    """PostgreSQL, the S3 emulator and an MLflow server, from the repository's own scripts.

    Never skipped: if they cannot start (in CI above all), the tests that need them fail and say why.
    """
    from team_helpers import services

    root = tmp_path_factory.mktemp("team") / "services"
    try:
        started = services.start(root)
    except services.ServiceError as exc:
        pytest.fail(
            f"The team services could not start: {exc}\nInstall Debian's 'postgresql' package "
            "(bash .ci/system-packages) and the dev extra (moto[server], psycopg2-binary, boto3), "
            "or deselect these tests with -m 'not services'.",
            pytrace=False,
        )
    yield started
    services.stop(root)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 emulator in this process, on 127.0.0.1 (no services marker: it starts in a second)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def lake(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch):
    """The bucket `lake` on the emulator; the `AWS_*` variables pyarrow.fs and the CLI read point at it."""
    import boto3

    keys = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name, value in {**keys, "AWS_ENDPOINT_URL": s3_endpoint}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    if "lake" not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket="lake")
    return client
