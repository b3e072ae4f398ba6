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
Then partitioned drift and batch validation, one child process per mode (peak memory).
`--quick` (a smoke check of every part, under a minute on 2 free cores): the pipeline part
runs first on 1,000 rows with a 20-iteration model, 20 latency samples and two gates, and
its local project's version is the one served (no separate training); one 2 s round per
server; drift and validation on 40k rows, the Ray drift child joining this process's Ray.
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
import threading
import time
from pathlib import Path

import pandas as pd
import yaml
from _common import SHIPYARD, child_env, emit, fresh_project, generate
from serve import free_port, server_env, stop, wait_ready, wrk

ROWS, CONNECTIONS = 100, 64
DRIFT_PARTS = 20
DRIFT_MODES = ("single", "local", "ray")


def trained_example(tmp: Path) -> Path:
    """The fraud example on 20,000 rows, trained and registered without gates (in this process:
    what `schema infer` and `run` do, without two CLI start-ups)."""
    from shipyard.api import infer_project_schema
    from shipyard.config.project import Project
    from shipyard.pipeline.run import run_pipeline

    project = fresh_project(tmp)
    policy_file = project / "shipyard.yaml"
    policy = yaml.safe_load(policy_file.read_text())
    policy["gates"] = []
    policy_file.write_text(yaml.safe_dump(policy, sort_keys=False))
    generate(20000, seed=0).to_parquet(project / "data" / "transactions.parquet")
    infer_project_schema(Project.load(project))
    run_pipeline(Project.load(project))
    return project


def served_example(project: Path, tmp: Path) -> Path:
    """Promote `project`'s newest version to production; a 100-row request body of its data."""
    from shipyard.api import open_registry
    from shipyard.config.project import Project

    registry = open_registry(Project.load(project))
    newest = max(registry.versions(), key=lambda v: int(v.version)).version
    registry.promote(newest, "production", actor="benchmark", force=True, reason="only its serving is timed")
    data = pd.read_parquet(project / "data" / "transactions.parquet")
    records = json.loads(
        data.drop(columns=["is_fraud"]).head(ROWS).to_json(orient="records", date_format="iso")
    )
    body = tmp / "body.json"
    body.write_text(json.dumps({"dataframe_records": records}))
    return body


def measure(project: Path, body: Path, workers: int, seconds: float) -> dict[str, float]:
    """rows/s, p50 and p99 of one server with `workers` processes, after a 1 s warm-up."""
    port = free_port()
    proc = subprocess.Popen(
        [str(SHIPYARD), "serve", "--port", str(port), "--workers", str(workers)], cwd=project,
        env=server_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        # the parent prints its "Serving ..." line once every worker is ready; /readyz answers as
        # soon as the first one is, while the others may still be loading (and eating a core)
        line = proc.stdout.readline() if proc.stdout else ""
        if "Serving" not in line:
            sys.exit(f"shipyard serve --workers {workers} did not start: {line!r}")
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # never let the pipe fill
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
    from shipyard.workspace import Workspace

    start = time.perf_counter()
    outcome = run_pipeline(Workspace.open(Project.load(project)), executor=executor)
    wall = time.perf_counter() - start
    ran = [e for e in outcome.pipeline.events if e.status == "ran"]
    inside = sum(e.seconds for e in ran)
    return {"wall_s": round(wall, 3), "in_stages_s": round(inside, 3), "stages": len(ran)}


def ray_pipeline(tmp: Path, quick: bool) -> dict[str, object]:
    """The example's pipeline, uncached, with the local executor and on a local Ray instance."""
    from shipyard.api import infer_project_schema
    from shipyard.config.project import Project
    from shipyard.core.distributed import connect_ray
    from shipyard.pipeline.context import RunContext
    from shipyard.pipeline.lint import lint
    from shipyard.pipeline.run import build_stages
    from shipyard.workspace import Workspace

    projects = {}
    for executor in ("local", "ray"):
        project = fresh_project(tmp / f"pipeline-{executor}")
        policy_file = project / "shipyard.yaml"
        policy = yaml.safe_load(policy_file.read_text())
        if quick:  # a small model, few latency samples and two cheap gates: the stages stay short
            policy["gates"] = [
                g for g in policy["gates"] if g["type"] in ("metric_threshold", "output_contract")
            ]
            policy["params"]["max_iter"] = 20
            policy["evaluation"] = {"latency_samples": 20, "warmup": 2}
        policy_file.write_text(yaml.safe_dump(policy, sort_keys=False))
        generate(1000 if quick else 20000, seed=0).to_parquet(project / "data" / "transactions.parquet")
        workspace = Workspace.open(Project.load(project))
        infer_project_schema(workspace)
        # Warm the driver for both: what a run imports and reads besides its stages (lint, keys,
        # MLflow and the store) is then not charged to whichever executor runs first.
        lint(workspace.project)
        build_stages(RunContext(workspace))
        workspace.registry.versions()
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


def peak_rss_mib() -> float:
    """This process's peak resident memory since it started (VmHWM). Not `ru_maxrss`: Linux
    keeps that across exec, so a child would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _drift_partition(folder: Path, index: int, rows: int, shifted: bool) -> None:
    """One partition of the drift data: 6 numeric and 2 categorical columns, `amount` doubled
    when `shifted`, written as one Parquet file."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(index)
    frame = pd.DataFrame({f"x{i}": rng.normal(i, 1.0, rows) for i in range(4)})
    frame["amount"] = rng.lognormal(3.0, 1.0, rows) * (2.0 if shifted else 1.0)
    frame["count"] = rng.poisson(3, rows)
    frame["channel"] = rng.choice(["web", "app", "shop", "phone"], rows, p=[0.5, 0.3, 0.15, 0.05])
    frame["merchant"] = rng.integers(0, 200, rows).astype(str)
    frame.to_parquet(folder / f"part-{index:02d}.parquet", index=False)


def _running_ray() -> dict[str, str]:
    """`RAY_ADDRESS` of the Ray instance this process runs, if any, for a child to join."""
    if "ray" not in sys.modules or not sys.modules["ray"].is_initialized():
        return {}
    return {"RAY_ADDRESS": sys.modules["ray"].get_runtime_context().gcs_address}


def drift_child(mode: str, folder: Path, profile: Path) -> None:
    """One drift run in this (child) process; prints wall seconds and peak RSS (MiB) as JSON.
    `single` loads every row into one frame (the path for data that fits), `local` reads one
    partition at a time, `ray` summarises partitions as Ray tasks (peak RSS of the driver and,
    separately, of the Ray worker processes, which ran the tasks)."""
    import time

    import pandas as pd

    from shipyard.data.partitions import open_partitions
    from shipyard.data.profile import Profile
    from shipyard.monitoring.engine import detect_drift

    reference = Profile.from_json(profile.read_text())
    out: dict[str, object] = {"mode": mode}
    if mode == "ray":
        from shipyard.core.distributed import connect_ray

        start = time.perf_counter()
        ray = connect_ray(num_cpus=2)
        out["startup_s"] = time.perf_counter() - start
    start = time.perf_counter()
    if mode == "single":
        report = detect_drift(reference, pd.read_parquet(folder))
    else:
        report = detect_drift(reference, open_partitions(folder), executor=mode)  # type: ignore[arg-type]
    out["seconds"] = time.perf_counter() - start
    out["peak_mib"] = peak_rss_mib()
    if mode == "ray":

        def peak() -> tuple[int, float]:
            return os.getpid(), peak_rss_mib()

        workers = dict(ray.get([ray.remote(peak).remote() for _ in range(16)]))
        out["worker_peak_mib"] = max(workers.values())
        out["workers"] = len(workers)
    out["verdict"], out["drifted"] = report.verdict, [f.name for f in report.drifted]
    print(json.dumps(out))


def partitioned_drift(quick: bool) -> dict[str, object]:
    """Drift of 10M rows (40k with --quick) in 20 Parquet partitions against a stored profile: one
    process holding every row, one reading a partition at a time, and Ray tasks. Each mode runs in
    its own child process, so its peak RSS is its own. With --quick the Ray child joins the Ray
    instance this process started for the pipeline part, if any, instead of starting its own
    (its workers' peak then includes the pipeline's stages)."""
    from shipyard.data.profile import build_profile

    rows = 40_000 if quick else 10_000_000
    per_part = rows // DRIFT_PARTS
    with tempfile.TemporaryDirectory() as tmp:
        folder, reference = Path(tmp) / "current", Path(tmp) / "reference"
        folder.mkdir()
        reference.mkdir()
        for index in range(DRIFT_PARTS):
            _drift_partition(folder, index, per_part, shifted=True)
        _drift_partition(reference, 100, min(per_part * 2, 200_000), shifted=False)
        import pandas as pd

        profile = Path(tmp) / "profile.json"
        profile.write_text(build_profile(pd.read_parquet(reference)).to_json())
        runs = {}
        for mode in DRIFT_MODES:
            command = [sys.executable, __file__, "--drift-child", mode, str(folder), str(profile)]
            env = child_env() | (_running_ray() if quick and mode == "ray" else {})
            done = subprocess.run(command, capture_output=True, text=True, env=env)
            if done.returncode != 0:
                sys.exit(f"drift mode {mode} failed:\n{done.stdout}{done.stderr}")
            runs[mode] = json.loads(done.stdout.strip().splitlines()[-1])
            run = runs[mode]
            workers = f" (Ray workers {run['worker_peak_mib']:.0f} MiB)" if mode == "ray" else ""
            print(
                f"  drift {mode:>6}: {run['seconds']:6.1f} s, peak {run['peak_mib']:7.0f} MiB{workers}",
                flush=True,
            )
    single, local = runs["single"], runs["local"]
    return {
        "rows": rows,
        "partitions": DRIFT_PARTS,
        "runs": runs,
        "same_verdicts": len({(r["verdict"], tuple(r["drifted"])) for r in runs.values()}) == 1,
        "memory_ratio": single["peak_mib"] / local["peak_mib"],
        "time_ratio": local["seconds"] / single["seconds"],
    }


def validation_child(mode: str, folder: Path, schema_path: Path) -> None:
    """One batch validation in this (child) process; prints wall seconds, peak RSS (MiB) and a
    digest of the report as JSON. `single` loads every row into one frame, `local` counts one
    partition at a time and merges the counts."""
    import hashlib
    import time

    import pandas as pd

    from shipyard.data.partitioned_validation import validate_partitions
    from shipyard.data.partitions import open_partitions
    from shipyard.data.schema import read_schema
    from shipyard.data.validation import validate

    schema, rules = read_schema(schema_path), {"target": "label", "task": "classification"}
    start = time.perf_counter()
    if mode == "single":
        report = validate(pd.read_parquet(folder), schema, **rules)
    else:
        report = validate_partitions(open_partitions(folder), schema, **rules)
    seconds = time.perf_counter() - start
    digest = hashlib.sha256(report.to_json().encode()).hexdigest()[:16]
    peak = peak_rss_mib()
    print(json.dumps({"mode": mode, "seconds": seconds, "peak_mib": peak, "report": digest}))


def partitioned_validation(quick: bool) -> dict[str, object]:
    """Batch validation of 2M rows (40k with --quick) in 20 Parquet partitions, with duplicates
    copied from the first partitions into the last: one frame, and partitions counted in turn,
    each in its own child process."""
    import pandas as pd

    from shipyard.data.schema import infer_schema, write_schema

    rows = 40_000 if quick else 2_000_000
    per_part = rows // DRIFT_PARTS
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "batch"
        folder.mkdir()
        for index in range(DRIFT_PARTS):
            _drift_partition(folder, index, per_part, shifted=False)
            path = folder / f"part-{index:02d}.parquet"
            frame = pd.read_parquet(path).assign(label=lambda f: (f.x0 > 0).astype(int))
            if index == DRIFT_PARTS - 1:  # 1 % of the first partition again: duplicates a merge must see
                frame = pd.concat([frame, pd.read_parquet(folder / "part-00.parquet").iloc[::100]])
            frame.to_parquet(path, index=False)
        schema_path = Path(tmp) / "schema.yaml"
        reference = pd.read_parquet(folder / "part-00.parquet").sample(frac=0.5, random_state=0)
        write_schema(infer_schema(reference, target="label"), schema_path)
        runs = {}
        for mode in ("single", "local"):
            command = [sys.executable, __file__, "--validation-child", mode, str(folder), str(schema_path)]
            done = subprocess.run(command, capture_output=True, text=True, env=child_env())
            if done.returncode != 0:
                sys.exit(f"validation mode {mode} failed:\n{done.stdout}{done.stderr}")
            runs[mode] = json.loads(done.stdout.strip().splitlines()[-1])
            run = runs[mode]
            print(
                f"  validate {mode:>6}: {run['seconds']:6.1f} s, peak {run['peak_mib']:7.0f} MiB", flush=True
            )
    single, local = runs["single"], runs["local"]
    return {
        "rows": rows,
        "partitions": DRIFT_PARTS,
        "runs": runs,
        "same_report": single["report"] == local["report"],
        "memory_ratio": single["peak_mib"] / local["peak_mib"],
        "time_ratio": local["seconds"] / single["seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="1 round of 2 s instead of 3 of 10 s, and small data (< 1 min)"
    )
    parser.add_argument("--drift-only", action="store_true", help="only the partitioned drift part")
    parser.add_argument("--validation-only", action="store_true", help="only the partitioned validation part")
    parser.add_argument("--drift-child", nargs=3, help=argparse.SUPPRESS)  # one drift mode, in a child
    parser.add_argument("--validation-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drift_child:
        drift_child(args.drift_child[0], Path(args.drift_child[1]), Path(args.drift_child[2]))
        return
    if args.validation_child:
        validation_child(
            args.validation_child[0], Path(args.validation_child[1]), Path(args.validation_child[2])
        )
        return
    if args.validation_only:
        checked = partitioned_validation(args.quick)
        emit(
            {
                "benchmark": "scale_validation",
                "quick": args.quick,
                **checked,
                "ratio": checked["memory_ratio"],
            }
        )
        return
    if args.drift_only:
        drift = partitioned_drift(args.quick)
        emit({"benchmark": "scale_drift", "quick": args.quick, **drift, "ratio": drift["memory_ratio"]})
        return
    seconds, rounds = (2.0, 1) if args.quick else (10.0, 3)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        if args.quick:  # the pipeline part's local project is served: one training fewer
            pipeline = ray_pipeline(Path(tmp), quick=True)
            project = Path(tmp) / "pipeline-local" / "fraud"
        else:
            project = trained_example(Path(tmp))
        body = served_example(project, Path(tmp))
        runs: dict[int, list[dict[str, float]]] = {1: [], 2: []}
        for _ in range(rounds):
            for workers in (1, 2):
                runs[workers].append(measure(project, body, workers, seconds))
        if not args.quick:
            pipeline = ray_pipeline(Path(tmp), quick=False)
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
            "partitioned_drift": partitioned_drift(args.quick),
            "partitioned_validation": partitioned_validation(args.quick),
            "ratio": ratio,
        }
    )


if __name__ == "__main__":
    main()
