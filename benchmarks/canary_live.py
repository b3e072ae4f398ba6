"""The live `latency_ratio` rule on a real server: false alarms on a same-cost canary, misses
on slower ones.

A small project (400 generated rows, a logistic regression whose every call also runs a fixed
amount of pure-Python work, `--spin` loop iterations, the kind that holds the interpreter) is
registered once with `shipyard run`, and that version serves as both production and canary:
the model does `LIVE_WORK_CANARY` times the work on the canary route's thread (the server
names it `shipyard-canary...`), so one version gives a same-cost canary (1x) and slower ones
(2x, 3x the work) without a retrain. Serving one version on both routes also rules out any
difference between two trainings.

Each trial is one rollout step as `shipyard rollout` runs it: `shipyard serve --desired` on
127.0.0.1 with production alone, `shipyard traffic replay` sending `--rps` requests per
second, then after `--warm` seconds the deploy file adds the canary at 10% and, `--step`
seconds later, the rule (p50, `max_ratio` 1.5, alpha 0.05, the controller's own `analyse`)
judges the canary's logged calls since it appeared against production's over the same
window. A same-cost canary judged `failed` is a false alarm; a slower one not judged
`failed` is a miss. Each cost also counts the trials whose lower bound is above 1 (slower
beyond noise, whatever the limit): for a same-cost canary that should be rare (alpha, 5%).

Targets: no false alarm and no miss at 3x. Prints one JSON line last; `ratio` = (1 - false
alarm rate) * (1 - miss rate at 3x): 1.0 when both targets are met.

    python benchmarks/canary_live.py [--quick] [--trials N] [--rps R] [--step S]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import SHIPYARD, child_env, emit, timed
from serve import free_port, wait_ready

from shipyard.config.policy import GateConfig
from shipyard.core.results import Status
from shipyard.delivery.analysis import LiveWindow, analyse
from shipyard.gates.live import LatencyRatioGate

MAX_RATIO = 1.5
MODEL = """\
import os
import threading

import pandas as pd
from sklearn.linear_model import LogisticRegression


class Work:
    \"\"\"A fitted model that also runs `spin` loop iterations per call, LIVE_WORK_CANARY times
    as many on the canary route's thread.\"\"\"

    def __init__(self, model, spin):
        self.model, self.spin = model, spin
        self.classes_ = model.classes_

    def _work(self):
        canary = "canary" in threading.current_thread().name
        factor = float(os.environ.get("LIVE_WORK_CANARY", "1")) if canary else 1.0
        total = 0
        for i in range(int(factor * self.spin)):
            total += i
        return total

    def predict(self, X):
        self._work()
        return self.model.predict(X)

    def predict_proba(self, X):
        self._work()
        return self.model.predict_proba(X)


def features(df):
    return pd.DataFrame({"x1": df.x1, "x2": df.x2, "g": (df.color == "g").astype(int)})


def train(X, y, params):
    return Work(LogisticRegression().fit(X, y), params["spin"])
"""
POLICY = """\
name: live
task: classification
data: {source: data.csv, target: label}
entrypoints: {features: model:features, train: model:train}
params: {spin: SPIN}
split: {method: stratified, test_size: 0.25}
metrics: [roc_auc]
evaluation: {latency_samples: 10, warmup: 0}
model_format: {trusted_types: [model.Work]}
serving: {poll_interval_s: 0.2}
"""


def build(root: Path, spin: int) -> None:
    """The project, with version 1 registered."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x1": rng.normal(size=400), "x2": rng.normal(size=400)})
    frame["color"] = rng.choice(["r", "g"], 400)
    frame["label"] = (frame.x1 + 0.5 * frame.x2 + rng.normal(scale=0.5, size=400) > 0).astype(int)
    frame.to_csv(root / "data.csv", index=False)
    (root / "model.py").write_text(MODEL)
    policy = root / "shipyard.yaml"
    policy.write_text(POLICY.replace("SPIN", str(spin)))
    (root / "deploy").mkdir()
    timed([str(SHIPYARD), "schema", "infer"], cwd=root)
    timed([str(SHIPYARD), "run"], cwd=root)


def trial(root: Path, factor: float, args: argparse.Namespace) -> dict[str, Any]:
    """One canary step at 10% with the canary doing `factor` x production's work: the verdict."""
    deploy = root / "deploy" / "live.yaml"
    deploy.write_text('model: live\nproduction: "1"\n')
    port = free_port()
    env = child_env() | {"OMP_NUM_THREADS": "1", "LIVE_WORK_CANARY": str(factor)}
    logs = root / ".shipyard" / "predictions"
    server_log = root / "server.log"
    server = subprocess.Popen(
        [str(SHIPYARD), "serve", "--desired", str(deploy), "--port", str(port)],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=server_log.open("w"),
    )  # fmt: skip
    replay = None
    try:
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", server, timeout=240)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\nThe server's log:\n{server_log.read_text()[-3000:]}") from exc
        seconds = args.warm + args.step + 5
        replay = subprocess.Popen(
            [str(SHIPYARD), "traffic", "replay", "data.csv", "--url", f"http://127.0.0.1:{port}",
             "--rps", str(args.rps), "--duration", str(seconds)],
            cwd=root, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(args.warm)
        since = datetime.now(UTC)
        deploy.write_text('model: live\nproduction: "1"\ncanary: {version: "1", weight: 0.1}\n')
        time.sleep(args.step)
        until = datetime.now(UTC)
    finally:
        if replay is not None:
            replay.terminate()
            replay.wait()
        server.terminate()  # SIGTERM: a graceful stop writes the log's last rows
        server.wait(60)
    window = LiveWindow(root, "classification", logs.parent, "1", "1")
    config = GateConfig(type="latency_ratio", max_ratio=MAX_RATIO, percentile=50)
    result = analyse(
        window,
        [(config, LatencyRatioGate(max_ratio=MAX_RATIO))],
        since=since,
        baseline_since=since,
        until=until,
    )
    for part in logs.glob("**/*.parquet"):  # the next trial starts from an empty log
        part.unlink()
    check = result.report.results[0] if result.report.results else None
    evidence = check.evidence if check is not None else {}
    return {
        "status": check.status.value if check is not None else "no_data",
        "ratio": evidence.get("ratio"),
        "bounds": evidence.get("bounds"),
        "calls": evidence.get("calls", 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one trial each of 1x and 3x (under a minute)")
    parser.add_argument("--trials", type=int, default=6, help="trials per canary cost")
    parser.add_argument("--rps", type=float, default=40.0)
    parser.add_argument("--warm", type=float, default=4.0, help="seconds of production alone first")
    parser.add_argument("--step", type=float, default=20.0, help="seconds of canary traffic analysed")
    parser.add_argument("--costs", default="1,2,3", help="the canary's work, x production's")
    parser.add_argument("--spin", type=int, default=300_000, help="loop iterations of base work per call")
    args = parser.parse_args()
    factors = [1.0, 3.0] if args.quick else [float(c) for c in args.costs.split(",")]
    if args.quick:
        args.trials, args.warm, args.step = 1, 1.0, 8.0
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        build(root, args.spin)
        print(f"version 1 registered in {time.perf_counter() - start:.1f} s", flush=True)
        for factor in factors:
            runs = [trial(root, factor, args) for _ in range(args.trials)]
            failed = sum(r["status"] == Status.FAILED.value for r in runs)
            above = sum(r["bounds"] is not None and r["bounds"][0] > 1 for r in runs)
            key = f"{factor:g}x"
            results[key] = {
                "trials": len(runs),
                "fail": failed,
                "slower_beyond_noise": above,  # lower bound above 1, whatever the limit
                "estimates": [round(r["ratio"], 2) if r["ratio"] else None for r in runs],
                "lower_bounds": [round(r["bounds"][0], 2) if r["bounds"] else None for r in runs],
                "calls": [r["calls"] for r in runs],
            }
            print(
                f"canary {key}: judged slower in {failed} of {len(runs)} trials: {results[key]}", flush=True
            )
    rates = {k: v["fail"] / v["trials"] for k, v in results.items()}
    false_alarm = rates.get("1x", 0.0)
    miss = 1 - rates.get("3x", 1.0)
    emit(
        {
            "benchmark": "canary_live",
            "max_ratio": MAX_RATIO,
            "rps": args.rps,
            "step_s": args.step,
            "false_alarm_rate": false_alarm,
            "miss_rate_3x": miss,
            **({"miss_rate_2x": 1 - rates["2x"]} if "2x" in rates else {}),
            "results": results,
            "ratio": (1 - false_alarm) * (1 - miss),
        }
    )


if __name__ == "__main__":
    sys.exit(main())
