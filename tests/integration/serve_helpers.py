"""Helpers for the `shipyard serve` integration tests: a trained two-version project, a live server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyarrow.dataset as ds
from cli_helpers import Cli, write_tiny_project

from shipyard.config.project import Project
from shipyard.serving import predlog
from shipyard.workspace import Workspace


def trained_project(root: Path) -> Cli:
    """The tiny project with versions 1 (C=1.0, in production) and 2 (C=0.01)."""
    cli = Cli(write_tiny_project(root))
    cli("schema", "infer", check=0)
    cli("run", check=0)
    policy = root / "shipyard.yaml"
    policy.write_text(policy.read_text().replace("params: {C: 1.0}", "params: {C: 0.01}"))
    cli("run", check=0)
    cli("promote", "1", "--to", "production", check=0)
    return cli


def record(i: int) -> dict[str, Any]:
    return {"x1": (i % 7) / 7 - 0.5, "x2": (i % 5) / 5 - 0.5, "color": "g" if i % 2 else "r"}


@dataclass
class Server:
    """A `shipyard serve` subprocess on 127.0.0.1 with a free port."""

    project: Path
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[str] = field(init=False)
    url: str = field(init=False)
    terminated: bool = False

    def __enter__(self) -> Server:
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
        env.pop("MLFLOW_TRACKING_URI", None)  # a test's registry is in its folder unless it says so
        env.update(self.env)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shipyard.cli", "serve", "--project", str(self.project), "--port", "0",
             *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=self.project,
        )  # fmt: skip
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if "http://" not in line:
            self.proc.kill()
            out, err = self.proc.communicate(timeout=30)
            raise AssertionError(f"server did not start: {line}{out}\nSTDERR:\n{err}")
        self.url = line[line.index("http://") :].split()[0]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError("server never became ready")

    def stop(self, timeout: float = 60) -> tuple[int, str]:
        """SIGTERM (once), wait for the graceful stop; the exit code and stderr."""
        if self.proc.poll() is None and not self.terminated:
            self.terminate()
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err

    def terminate(self) -> None:
        self.terminated = True
        self.proc.send_signal(signal.SIGTERM)

    def __exit__(self, *exc: object) -> None:
        self.stop()


def log_folder(project: Path, kind: str = predlog.PREDICTIONS_DIR) -> Path:
    """Where the project's (embedded) workspace has its servers write the `kind` log."""
    return Workspace.open(Project.load(project)).logs.folder(kind)


def logged_rows(project: Path) -> list[dict[str, Any]]:
    folder = log_folder(project)
    if not folder.exists():
        return []
    columns = [predlog.REQUEST_ID, predlog.ROW, predlog.ROUTE, predlog.MODEL_VERSION, predlog.STATUS]
    return ds.dataset(folder, partitioning="hive").to_table(columns=columns).to_pylist()
