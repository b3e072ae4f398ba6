"""Fixtures for integration tests (helpers live in cli_helpers.py)."""

from __future__ import annotations

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
