"""Connecting to Ray, the one distributed engine Shipyard runs on (the `shipyard[ray]` extra).

Nothing here imports Ray at module level: the local path never pays for it. `connect_ray`
joins the cluster at `RAY_ADDRESS` when set, otherwise starts (once per process) a local
instance without the dashboard, and returns the `ray` module.
"""

from __future__ import annotations

import os
import socket
from types import ModuleType

from shipyard.errors import ConfigError, ServiceUnavailableError

__all__ = ["connect_ray"]

#: seconds to wait for the head node's port before giving up (Ray's own retries last minutes)
CONNECT_TIMEOUT_S = 5.0


def connect_ray(*, num_cpus: int | None = None) -> ModuleType:
    """The `ray` module, initialised: the cluster at `RAY_ADDRESS`, or a local instance."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(
            "The 'ray' executor needs Ray, which is not installed. Install it with "
            "pip install 'shipyard[ray]', or use executor: local."
        ) from exc
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS") or None
        if address is not None:
            _probe(address)
        try:
            ray.init(
                address=address,
                num_cpus=None if address else num_cpus,
                include_dashboard=False,
                log_to_driver=False,
                ignore_reinit_error=True,
                configure_logging=False,
            )
        except (ConnectionError, TimeoutError, RuntimeError, ray.exceptions.RayError) as exc:
            where = f"join the Ray cluster at {address} (RAY_ADDRESS)" if address else "start a local Ray"
            raise ServiceUnavailableError(
                f"Could not {where}: {type(exc).__name__}: {str(exc).strip()}. Check that it runs and "
                "that this machine may join it (RAY_AUTH_TOKEN with token authentication), or run "
                "with --executor local."
            ) from exc
    return ray


def _probe(address: str) -> None:
    """Fail within `CONNECT_TIMEOUT_S` when the head at `address` (`host:port` or
    `ray://host:port`) does not accept connections; `auto` and `local` are left to Ray."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ServiceUnavailableError(
            f"Could not reach the Ray cluster at {address} (RAY_ADDRESS) within {CONNECT_TIMEOUT_S:g} s: "
            f"{exc}. Check that its head node runs and is reachable, or run with --executor local."
        ) from exc
