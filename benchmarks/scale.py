"""Scaling: `shipyard serve --workers 1` against `--workers 2`, same model, same 100-row requests.

The fraud example is trained and registered as in `serve.py`; then each server runs alone
on 127.0.0.1 while `wrk` POSTs MLflow-style 100-row bodies to `/invocations` at
concurrency 64. The two servers alternate for `rounds` runs each and the median rows/s of
each is kept, so a neighbour's load hits both. Target on 2 free cores: workers 2 / workers 1
>= 1.6. The machine's load average at start and end is printed beside the result: on a
shared machine, the ratio is bounded by the cores the other processes leave.
Then `shipyard run` on fresh copies of the example with the local executor and with
`executor: ray` (a local Ray instance): the whole pipeline's wall time on each, uncached
(Ray's workers start cold), then after a param change (train, evaluate, gate and register
rerun on warm workers): Ray's overhead per stage is the extra wall time of that rerun per
stage (target under 1 s).
Prints one JSON line last; `ratio` = rows/s with 2 workers / rows/s with 1.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _common import SHIPYARD, child_env, emit, fresh_project, generate
from serve import free_port, server_env, stop, wait_ready, wrk

ROWS, CONNECTIONS = 100, 64


def trained_example(tmp: Path, quick: bool) -> tuple[Path, Path]:
    """The fraud example trained and promoted (no gates), and a 100-row request body."""
    project = fresh_project(tmp)
    policy_file = project / "shipyard.yaml"
    policy = yaml.safe_load(policy_file.read_text())
    policy["gates"] = []
    policy_file.write_text(yaml.safe_dump(policy, sort_keys=False))
    data = generate(3000 if quick else 20000, seed=0)
    data.to_parquet(project / "data" / "transactions.parquet")
    env = child_env()
    for command in (["schema", "infer"], ["run"], ["promote", "1", "--to", "production"]):
        done = subprocess.run([str(SHIPYARD), *command], cwd=project, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"shipyard {' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    records = json.loads(
        data.drop(columns=["is_fraud"]).head(ROWS).to_json(orient="records", date_format="iso")
    )
    body = tmp / "body.json"
    body.write_text(json.dumps({"dataframe_records": records}))
    return project, body


def measure(project: Path, body: Path, workers: int, seconds: float) -> dict[str, float]:
    """rows/s, p50 and p99 of one server with `workers` processes, after a 1 s warm-up."""
    port = free_port()
    proc = subprocess.Popen(
        [str(SHIPYARD), "serve", "--port", str(port), "--workers", str(workers)], cwd=project,
        env=server_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
        url = f"http://127.0.0.1:{port}/invocations"
        wrk(url, body, connections=CONNECTIONS, seconds=1)
        cell = wrk(url, body, connections=CONNECTIONS, seconds=seconds)
    finally:
        stop(proc)
    cell["rows_s"] = cell["req_s"] * ROWS
    print(f"  workers {workers}: {cell['rows_s']:>8.0f} rows/s  p50 {cell['p50_ms']:6.1f} ms  "
          f"p99 {cell['p99_ms']:6.1f} ms  errors {cell['errors']:.0f}", flush=True)  # fmt: skip
    return cell


RAY_OVERHEAD_TARGET_S = 1.0


def _timed_run(project: Path, executor: str) -> dict[str, float]:
    """One `run_pipeline` in this process: wall time, time inside the stages, stages run."""
    from shipyard.config.project import Project
    from shipyard.pipeline.run import run_pipeline

    start = time.perf_counter()
    outcome = run_pipeline(Project.load(project), executor=executor)
    wall = time.perf_counter() - start
    ran = [e for e in outcome.pipeline.events if e.status == "ran"]
    inside = sum(e.seconds for e in ran)
    return {"wall_s": round(wall, 3), "in_stages_s": round(inside, 3), "stages": len(ran)}


def ray_pipeline(tmp: Path, quick: bool) -> dict[str, object]:
    """The example's pipeline, uncached, with the local executor and on a local Ray instance."""
    from shipyard.api import infer_project_schema, open_registry
    from shipyard.config.project import Project
    from shipyard.core.distributed import connect_ray
    from shipyard.pipeline.context import RunContext
    from shipyard.pipeline.lint import lint
    from shipyard.pipeline.run import build_stages

    projects = {}
    for executor in ("local", "ray"):
        project = fresh_project(tmp / f"pipeline-{executor}")
        policy_file = project / "shipyard.yaml"
        policy = yaml.safe_load(policy_file.read_text())
        if quick:
            policy["gates"] = [
                g for g in policy["gates"] if g["type"] in ("metric_threshold", "output_contract")
            ]
        policy_file.write_text(yaml.safe_dump(policy, sort_keys=False))
        generate(1000 if quick else 20000, seed=0).to_parquet(project / "data" / "transactions.parquet")
        infer_project_schema(Project.load(project))
        # Warm the driver for both: what a run imports and reads besides its stages (lint, keys,
        # MLflow and the store) is then not charged to whichever executor runs first.
        lint(Project.load(project))
        build_stages(RunContext(Project.load(project)))
        open_registry(Project.load(project))
        projects[executor] = project
    started = time.perf_counter()
    connect_ray()
    ray_start_s = round(time.perf_counter() - started, 3)
    cold = {executor: _timed_run(project, executor) for executor, project in projects.items()}
    for project in projects.values():  # a new learning rate: train, evaluate, gate, register rerun
        policy_file = project / "shipyard.yaml"
        policy_file.write_text(
            policy_file.read_text().replace("learning_rate: 0.1\n", "learning_rate: 0.12\n")
        )
    warm = {executor: _timed_run(project, executor) for executor, project in projects.items()}
    # Ray's cost per stage once its workers are warm (they imported pandas, scikit-learn and
    # MLflow during the first run): the extra wall time of the rerun, per stage rerun.
    per_stage = (warm["ray"]["wall_s"] - warm["local"]["wall_s"]) / max(1, warm["ray"]["stages"])
    cold_per_stage = (cold["ray"]["wall_s"] - cold["local"]["wall_s"]) / max(1, cold["ray"]["stages"])
    print(f"pipeline, uncached: local {cold['local']['wall_s']:.2f} s, ray {cold['ray']['wall_s']:.2f} s "
          f"(ray start-up {ray_start_s:.2f} s apart; cold workers {cold_per_stage:.2f} s per stage)\n"
          f"after a param change ({warm['ray']['stages']} stages): local {warm['local']['wall_s']:.2f} s, "
          f"ray {warm['ray']['wall_s']:.2f} s; ray overhead {per_stage:.3f} s per stage "
          f"(target < {RAY_OVERHEAD_TARGET_S:g} s)", flush=True)  # fmt: skip
    return {
        "uncached": cold,
        "after_param_change": warm,
        "ray_start_s": ray_start_s,
        "ray_cold_overhead_per_stage_s": round(cold_per_stage, 3),
        "ray_overhead_per_stage_s": round(per_stage, 3),
        "ray_overhead_meets_target": per_stage < RAY_OVERHEAD_TARGET_S,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 3 s instead of 3 of 10 s")
    args = parser.parse_args()
    seconds, rounds = (3.0, 2) if args.quick else (10.0, 3)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        project, body = trained_example(Path(tmp), args.quick)
        runs: dict[int, list[dict[str, float]]] = {1: [], 2: []}
        for _ in range(rounds):
            for workers in (1, 2):
                runs[workers].append(measure(project, body, workers, seconds))
        pipeline = ray_pipeline(Path(tmp), args.quick)
    load_after = os.getloadavg()
    rows_s = {w: statistics.median(r["rows_s"] for r in cells) for w, cells in runs.items()}
    ratio = rows_s[2] / rows_s[1] if rows_s[1] else float("nan")
    print(f"workers 2 / workers 1 = {ratio:.2f}x rows/s on {os.cpu_count()} cores; load average "
          f"{load_before[0]:.1f} at start, {load_after[0]:.1f} at end")  # fmt: skip
    emit(
        {
            "benchmark": "scale",
            "quick": args.quick,
            "seconds_per_run": seconds,
            "rows_per_request": ROWS,
            "connections": CONNECTIONS,
            "runs": {str(w): cells for w, cells in runs.items()},
            "rows_s": {str(w): v for w, v in rows_s.items()},
            "cpu_count": os.cpu_count(),
            "load_average": {"start": load_before[0], "end": load_after[0]},
            "pipeline": pipeline,
            "ratio": ratio,
        }
    )


if __name__ == "__main__":
    main()
