"""`shipyard serve` refuses to start (clear message, non-zero exit) when nothing sound can be served."""

from __future__ import annotations

import socket

import pytest
from cli_helpers import Cli

pytestmark = pytest.mark.integration


# With --workers 2 each error is met in a worker process and reported by the parent, unchanged.
WORKERS = pytest.mark.parametrize("workers", ["1", "2"])


@WORKERS
def test_no_production_alias_says_how_to_promote(tiny: Cli, workers: str) -> None:
    proc = tiny("serve", "--port", "0", "--workers", workers)
    assert proc.returncode == 3, proc.stderr
    assert "no 'production' alias" in proc.stderr and "shipyard promote" in proc.stderr
    assert "Traceback" not in proc.stderr


@WORKERS
def test_unreachable_registry_is_a_clear_error(tiny: Cli, workers: str) -> None:
    policy = tiny.project / "shipyard.yaml"
    policy.write_text(policy.read_text() + "registry: {tracking_uri: 'http://127.0.0.1:9'}\n")
    proc = tiny("serve", "--port", "0", "--workers", workers)
    assert proc.returncode == 2, proc.stderr  # an unreachable service is a usage error (issue 11)
    assert "registry" in proc.stderr and "127.0.0.1:9" in proc.stderr
    assert "Traceback" not in proc.stderr


@WORKERS
def test_bad_deploy_file_is_a_usage_error(tiny: Cli, workers: str) -> None:
    (tiny.project / "deploy.yaml").write_text("model: tiny\ncanary: {version: '2', weight: 3}\n")
    proc = tiny("serve", "--desired", "deploy.yaml", "--port", "0", "--workers", workers)
    assert proc.returncode == 2, proc.stderr
    assert "deploy.yaml" in proc.stderr and "production" in proc.stderr and "canary.weight" in proc.stderr


def test_desired_with_canary_flag_is_a_usage_error(tiny: Cli) -> None:
    proc = tiny("serve", "--desired", "deploy.yaml", "--canary", "2")
    assert proc.returncode == 2 and "--desired" in proc.stderr


def test_a_port_in_use_is_refused_before_any_worker_starts(tiny: Cli) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        proc = tiny("serve", "--port", str(held.getsockname()[1]), "--workers", "2")
    assert proc.returncode == 3, proc.stderr
    assert "Cannot listen on 127.0.0.1" in proc.stderr and "--port" in proc.stderr
