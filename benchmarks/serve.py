"""Serving: `shipyard serve` against `mlflow models serve --env-manager local`, same model, same requests.

The fraud example is trained on generated rows and registered with `shipyard run`, then
each server runs alone as a subprocess on 127.0.0.1 while `wrk` (a separate process)
POSTs the same MLflow-style body (`{"dataframe_records": [...]}`, raw rows) to
`/invocations` of each: 1-row and 100-row requests at concurrency 8 and 64. Both
servers get `OMP_NUM_THREADS=1` (it helps MLflow too). The in-process limit is
`Servable.predict_frame` on 100-row raw frames in this process (features + model, no HTTP).

Targets: at least 10x MLflow's rows/s for 1-row requests at c=64, at least 3x for 100-row
requests, each at lower p99, and within 2x of the in-process limit for 100-row requests.
Prints one JSON line last; `ratio` = the smallest Shipyard / MLflow rows/s ratio of the 4 cells.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from _common import SHIPYARD, child_env, emit, fresh_project, generate

CELLS = [(1, 8), (1, 64), (100, 8), (100, 64)]
_LATENCY = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([0-9.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env() -> dict[str, str]:
    env = child_env() | {"OMP_NUM_THREADS": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # mlflow runs uvicorn
    return env


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> float:
    """Seconds until `url` answers 200; raises if the server exits or never answers."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"The server exited with {proc.returncode} before answering {url}.")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"No answer from {url} within {timeout:.0f} s.")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wrk(url: str, body_file: Path, *, connections: int, seconds: float) -> dict[str, float]:
    """Run wrk against `url`; requests/s, p50/p99 ms and error count."""
    script = body_file.with_suffix(".lua")
    script.write_text(
        f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"local f = io.open({json.dumps(str(body_file))}, 'rb')\nwrk.body = f:read('*a')\nf:close()\n"
    )
    threads = min(2, connections)
    done = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", "--timeout", "10s",
         "-s", str(script), url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    latency = {p: float(v) * _UNIT[u] for p, v, u in _LATENCY.findall(out)} if rps > 0 else {}
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(x) for x in socket_errors.groups()) if socket_errors else 0
    nan = float("nan")
    return {
        "req_s": rps,
        "p50_ms": latency.get("50", nan),
        "p99_ms": latency.get("99", nan),
        "errors": errors,
    }


def run_cells(url: str, bodies: dict[int, Path], seconds: float) -> dict[str, dict[str, float]]:
    """The 4 cells against one server, each after a 1 s warm-up (a cold first call can take seconds)."""
    results = {}
    for rows, connections in CELLS:
        wrk(url, bodies[rows], connections=connections, seconds=1)
        cell = wrk(url, bodies[rows], connections=connections, seconds=seconds)
        cell["rows_s"] = cell["req_s"] * rows
        results[f"{rows}row_c{connections}"] = cell
        print(f"  {rows:>3} rows c={connections:<3} {cell['rows_s']:>9.0f} rows/s  p50 {cell['p50_ms']:7.1f}"
              f" ms  p99 {cell['p99_ms']:7.1f} ms  errors {cell['errors']}", flush=True)  # fmt: skip
    return results


def in_process_limit(model_dir: Path, frame: Any, seconds: float) -> float:
    """Rows/s of `Servable.predict_frame` on 100-row raw frames, one thread, no HTTP."""
    from threadpoolctl import threadpool_limits

    from shipyard.training.packaging import load_servable

    servable = load_servable(model_dir)
    batch = frame.head(100)
    with threadpool_limits(1):
        servable.predict_frame(batch)
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            servable.predict_frame(batch)
            calls += 1
    return calls * 100 / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 s per cell instead of 10")
    args = parser.parse_args()
    seconds = 2.0 if args.quick else 10.0
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk).")
    with tempfile.TemporaryDirectory() as tmp:
        project = fresh_project(Path(tmp))
        # Serving is measured, not gating: without gates the example trains in seconds.
        policy_file = project / "shipyard.yaml"
        policy = yaml.safe_load(policy_file.read_text())
        policy["gates"] = []
        policy_file.write_text(yaml.safe_dump(policy, sort_keys=False))
        started = time.perf_counter()
        data = generate(3000 if args.quick else 20000, seed=0)
        data.to_parquet(project / "data" / "transactions.parquet")
        env = child_env()
        # The schema must cover the generated rows: the server refuses values outside its bounds.
        subprocess.run(
            [str(SHIPYARD), "schema", "infer"], cwd=project, env=env, capture_output=True, check=True
        )
        trained = subprocess.run([str(SHIPYARD), "run"], cwd=project, env=env, capture_output=True, text=True)
        promoted = subprocess.run(
            [str(SHIPYARD), "promote", "1", "--to", "production"],
            cwd=project, env=env, capture_output=True, text=True,
        )  # fmt: skip
        if promoted.returncode != 0:
            sys.exit(f"Training the example failed:\n{trained.stdout}{trained.stderr}{promoted.stderr}")
        print(f"trained and registered the example in {time.perf_counter() - started:.1f} s", flush=True)
        raw = data.drop(columns=["is_fraud"]).head(100)
        records = json.loads(raw.to_json(orient="records", date_format="iso"))
        bodies = {}
        for rows in (1, 100):
            bodies[rows] = Path(tmp) / f"body{rows}.json"
            bodies[rows].write_text(json.dumps({"dataframe_records": records[:rows]}))

        port = free_port()
        print(f"shipyard serve on :{port}", end=" ", flush=True)
        proc = subprocess.Popen(
            [str(SHIPYARD), "serve", "--port", str(port)], cwd=project, env=server_env(),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            ready_shipyard = wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
            print(f"(ready in {ready_shipyard:.1f} s)", flush=True)
            shipyard = run_cells(f"http://127.0.0.1:{port}/invocations", bodies, seconds)
        finally:
            stop(proc)
        model_dir = project / ".shipyard" / "models-cache" / "fraud" / "1"

        port = free_port()
        print(f"mlflow models serve on :{port}", end=" ", flush=True)
        proc = subprocess.Popen(
            ["mlflow", "models", "serve", "-m", str(model_dir), "--env-manager", "local", "-p", str(port),
             "-h", "127.0.0.1"],
            cwd=project, env=server_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            ready_mlflow = wait_ready(f"http://127.0.0.1:{port}/ping", proc)
            print(f"(ready in {ready_mlflow:.1f} s)", flush=True)
            mlflow = run_cells(f"http://127.0.0.1:{port}/invocations", bodies, seconds)
        finally:
            stop(proc)

        sys.path.insert(0, str(project))
        limit = in_process_limit(model_dir, raw, seconds=min(seconds, 3.0))

    # A peer that finished no request in a cell is counted as one request: the ratio is then a lower bound.
    floor = {f"{rows}row_c{c}": rows / seconds for rows, c in CELLS}
    ratios = {cell: shipyard[cell]["rows_s"] / max(mlflow[cell]["rows_s"], floor[cell]) for cell in shipyard}
    for cell, ratio in ratios.items():
        p99 = f"p99 {shipyard[cell]['p99_ms']:.0f} vs {mlflow[cell]['p99_ms']:.0f} ms"
        print(f"{cell}: shipyard / mlflow = {ratio:.1f}x rows/s, {p99}")
    vs_limit = shipyard["100row_c64"]["rows_s"] / limit
    print(
        f"in-process limit (predict_frame, 100 rows): {limit:.0f} rows/s; shipyard 100row_c64 {vs_limit:.2f}x"
    )
    emit(
        {
            "benchmark": "serve",
            "quick": args.quick,
            "seconds_per_cell": seconds,
            "shipyard": shipyard,
            "mlflow": mlflow,
            "ratios": ratios,
            "ready_s": {"shipyard": ready_shipyard, "mlflow": ready_mlflow},
            "in_process_rows_s_100": limit,
            "shipyard_vs_in_process_100": vs_limit,
            "ratio": min(ratios.values()),
        }
    )


if __name__ == "__main__":
    main()
