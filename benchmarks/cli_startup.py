"""CLI start-up: `shipyard --help` against the peer `mlflow --help`, wall time, same run.

Target: `shipyard --help` under 0.5 s. Prints one JSON line last; `ratio` > 1 means
Shipyard starts faster than MLflow's CLI.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _time(command: list[str], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 10")
    args = parser.parse_args()
    repeats = 3 if args.quick else 10
    bin_dir = Path(sys.executable).parent
    shipyard = [str(bin_dir / "shipyard"), "--help"]
    mlflow = [shutil.which("mlflow", path=str(bin_dir)) or "mlflow", "--help"]
    shipyard_s = _time(shipyard, repeats)
    mlflow_s = _time(mlflow, repeats)
    print(f"shipyard --help  {shipyard_s:.3f} s (target < 0.5 s)")
    print(f"mlflow --help    {mlflow_s:.3f} s")
    result = {
        "benchmark": "cli_startup",
        "shipyard_help_s": round(shipyard_s, 4),
        "mlflow_help_s": round(mlflow_s, 4),
        "target_s": 0.5,
        "meets_target": shipyard_s < 0.5,
        "ratio": round(mlflow_s / shipyard_s, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
