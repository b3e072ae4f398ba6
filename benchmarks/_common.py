"""Helpers shared by the benchmarks: fresh copies of the fraud example, data, timed commands."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "fraud"
SHIPYARD = Path(sys.executable).parent / "shipyard"
# Local state and generated data of the example, which a fresh copy must not inherit.
_NOT_COPIED = shutil.ignore_patterns(".shipyard", "transactions*.parquet", "__pycache__")


def fresh_project(parent: Path) -> Path:
    """Copy the fraud example into `parent`/fraud without its state and generated data."""
    return Path(shutil.copytree(EXAMPLE, parent / "fraud", ignore=_NOT_COPIED))


def generate(rows: int, *, seed: int = 0) -> pd.DataFrame:
    """The example's `generate.generate(rows, seed=seed)`, imported from its file."""
    spec = importlib.util.spec_from_file_location("fraud_generate", EXAMPLE / "generate.py")
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"Cannot import {EXAMPLE / 'generate.py'}; is the example intact?")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate(rows, seed=seed)


def child_env() -> dict[str, str]:
    """The environment for timed commands: no inherited MLflow settings, wide console output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    return env | {"COLUMNS": "200"}


def timed(command: list[str], *, cwd: Path) -> tuple[float, str]:
    """Run `command` in `cwd`; return its wall time in seconds and its stdout.

    Raises `RuntimeError` with the command's output when it exits non-zero.
    """
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=child_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(
            f"Benchmark command {command} in {cwd} exited with {done.returncode}:\n"
            f"{done.stdout}\n{done.stderr}\nRun it by hand in a fresh copy to see why."
        )
    return seconds, done.stdout


def emit(result: dict[str, Any]) -> None:
    """Print the benchmark's figures as the one JSON line that ends its output."""
    print(json.dumps(result))
