"""Team services: `shipyard run` against PostgreSQL + S3 + an MLflow server vs the embedded default.

Starts the services with the repository's own scripts (scripts/services), then on fresh
copies of the fraud example times: a full run on the embedded default; a full run on the
shared services; a second clone's unchanged run on the shared services, its stage cache
fetched from the shared object store (target under 2 s), in several fresh copies of that
clone (the machine is shared, so the median, the range, and each run's CPU time, which
other jobs disturb less than its wall time); and `serve` start-up from a fresh folder until
/readyz answers. Prints one JSON line last; `ratio` = shared full run s / embedded full run s.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import REPO, emit, fresh_project, generate

sys.path.insert(0, str(REPO / "scripts" / "services"))
import services  # noqa: E402  (the repository's own start/stop script, not a package)

TARGET_SECOND_CLONE_S = 2.0
CLI = [sys.executable, "-m", "shipyard.cli"]  # this checkout's code, wherever it is installed from


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SHIPYARD_"))}
    return env | {"COLUMNS": "200", "OMP_NUM_THREADS": "1"} | extra


def _run(project: Path, env: dict[str, str]) -> float:
    return _timed_run(project, env)[0]


def _timed_run(project: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds of `shipyard run` in `project`, and the CPU seconds (user + system) it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([*CLI, "run"], cwd=project, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(
            f"shipyard run in {project} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return round(wall, 3), round(cpu, 3)


def _second_clones(work: Path, rows: int, env: dict[str, str], runs: int) -> list[tuple[float, float]]:
    """Each run in a fresh copy of one prepared clone: nothing of it cached locally."""
    prepared = _clone(work, "b", rows)
    timings = []
    for i in range(runs):
        copy = Path(shutil.copytree(prepared, work / f"b{i}" / "fraud"))
        timings.append(_timed_run(copy, env))
    return timings


def _clone(parent: Path, name: str, rows: int) -> Path:
    project = fresh_project(parent / name)
    generate(rows, seed=0).to_parquet(project / "data" / "transactions.parquet", index=False)
    subprocess.run([*CLI, "schema", "infer"], cwd=project, env=_env({}), check=True, capture_output=True)
    return project


def _serve_start(project: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", "0"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if "http://" not in line:
            raise RuntimeError(f"serve did not start: {line}{proc.stderr.read() if proc.stderr else ''}")
        url = line[line.index("http://") :].split()[0]
        while httpx.get(f"{url}/readyz", timeout=5).status_code != 200:
            time.sleep(0.05)
        return round(time.perf_counter() - start, 3)
    finally:
        proc.terminate()
        proc.communicate(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20k rows instead of 100k")
    args = parser.parse_args()
    rows = 20_000 if args.quick else 100_000
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-team-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        svc = services.start(work / "services")
        services_start_s = round(time.perf_counter() - started, 3)
        try:
            shared = _env({**svc.env(), "SHIPYARD_OBJECT_STORE": f"s3://{services.BUCKET}/bench-cache"})
            embedded_s = _run(_clone(work, "embedded", rows), _env({}))
            shared_s = _run(_clone(work, "a", rows), shared)
            second = _second_clones(work, rows, shared, runs=3 if args.quick else 5)
            subprocess.run(
                [*CLI, "promote", "1", "--to", "production"], cwd=work / "a" / "fraud", env=shared, check=True
            )
            serve_fresh_s = _serve_start(_clone(work, "c", rows), shared)
        finally:
            services.stop(work / "services")
    print(f"services started in {services_start_s} s")
    print(f"full run: embedded {embedded_s} s, shared services {shared_s} s")
    walls, cpus = [w for w, _ in second], [c for _, c in second]
    second_clone_s = round(statistics.median(walls), 3)
    print(
        f"second clone, unchanged: {second_clone_s} s median of {len(walls)} "
        f"({min(walls)}-{max(walls)} s; CPU {min(cpus)}-{max(cpus)} s) (target {TARGET_SECOND_CLONE_S} s)"
    )
    print(f"serve from a fresh folder, until ready: {serve_fresh_s} s")
    emit(
        {
            "benchmark": "team",
            "rows": rows,
            "services_start_s": services_start_s,
            "embedded_run_s": embedded_s,
            "shared_run_s": shared_s,
            "second_clone_run_s": second_clone_s,
            "second_clone_runs_s": walls,
            "second_clone_cpu_s": cpus,
            "load_average": round(os.getloadavg()[0], 2),
            "second_clone_meets_target": second_clone_s < TARGET_SECOND_CLONE_S,
            "serve_fresh_ready_s": serve_fresh_s,
            "ratio": round(shared_s / embedded_s, 3),
        }
    )


if __name__ == "__main__":
    main()
