"""Helpers for the tests on real team services (PostgreSQL, S3 emulator, MLflow server)."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import REPO, Cli, write_tiny_project

sys.path.insert(0, str(REPO / "scripts" / "services"))
import services  # noqa: E402  (the repository's own start/stop scripts, not a package)


def team_yaml(tracking_uri: str, state_url: str, model_name: str, *, timeout_s: int = 60) -> str:
    """The shipyard.yaml sections that put a clone on the shared services."""
    return (
        f"registry:\n  model_name: {model_name}\n  tracking_uri: {tracking_uri}\n"
        f"  request_timeout_s: {timeout_s}\n  max_retries: 1\n"
        f"state:\n  url: {state_url}\n"
    )


def team_clone(
    root: Path, svc: services.Services, model: str, *, tracking_uri: str | None = None, extra_yaml: str = ""
) -> Cli:
    """A tiny project on the shared services (its schema inferred), as a fresh clone has it."""
    yaml = team_yaml(tracking_uri or svc.tracking_uri, svc.state_url, model) + extra_yaml
    cli = Cli(write_tiny_project(root, extra_yaml=yaml))
    cli("schema", "infer", check=0)
    return cli


class Proxy:
    """A TCP proxy on 127.0.0.1 in front of `upstream_port` that calls `on_marker` once, when the
    client sends its next request after the first one whose bytes contain `marker` (so that
    one was answered in full): a way to kill the server at an exact point of a conversation."""

    def __init__(self, upstream_port: int, marker: bytes, on_marker: Callable[[], None]) -> None:
        self.upstream_port = upstream_port
        self.marker = marker
        self.on_marker = on_marker
        self.fired = threading.Event()
        self._armed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, to_server: bool) -> None:
        try:
            while data := src.recv(65536):
                if to_server and self._armed.is_set() and not self.fired.is_set():
                    self.fired.set()
                    self.on_marker()
                if to_server and self.marker in data:
                    self._armed.set()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            src.close()
            dst.close()

    def close(self) -> None:
        self._listener.close()


__all__ = ["Proxy", "services", "team_clone", "team_yaml"]


def use_s3(monkeypatch: pytest.MonkeyPatch, svc: services.Services) -> None:
    """This test process reaches the services' S3 emulator (its endpoint and keys) as the CLI does."""
    for name, value in svc.env().items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
