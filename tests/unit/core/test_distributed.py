"""Joining a Ray cluster that is not there fails fast, naming RAY_ADDRESS."""

from __future__ import annotations

import socket
import time

import pytest

from shipyard.core.distributed import CONNECT_TIMEOUT_S, _probe
from shipyard.errors import ServiceUnavailableError


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_an_unreachable_head_is_a_service_error_within_the_timeout(scheme: str) -> None:
    address = f"{scheme}127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError, match="RAY_ADDRESS") as caught:
        _probe(address)
    assert address in str(caught.value)
    assert time.monotonic() - started < CONNECT_TIMEOUT_S + 5


def test_a_listening_head_and_ray_keywords_pass() -> None:
    with socket.socket() as head:
        head.bind(("127.0.0.1", 0))
        head.listen()
        _probe(f"127.0.0.1:{head.getsockname()[1]}")
    _probe("auto")
    _probe("local")
