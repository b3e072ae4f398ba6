"""Decision harness for the `performance` gate's ratios against production.

Two models of known relative cost (CPU-bound work per call: equal, 1.5x and 3x) are judged
with `max_latency_ratio: 1.5` under bursty background load (a process that burns a core for
a random 0.05-0.5 s, then sleeps as long), over many seeds:

- shipyard: `compare_cost` (paired, interleaved single-row and batch calls; the limit is broken
  only when the lower end of the 95 % interval is above it);
- naive: each model timed on its own with `measure_performance` (as two separate runs would
  measure them), the ratio of their p99 compared with the limit.

An equal-cost candidate rejected is a false alarm; a 3x candidate approved is a miss (1.5x sits
on the limit and is reported, not scored). `ratio` = (naive errors + 1) / (shipyard errors + 1):
above 1, Shipyard's rule errs less.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import time

import numpy as np
import pandas as pd

from shipyard.evaluation.performance import compare_cost, measure_performance

LIMIT = 1.5
COSTS = {"equal": 1.0, "1.5x": 1.5, "3x": 3.0}


def _burn(stop: mp.synchronize.Event, seed: int) -> None:  # type: ignore[name-defined]
    rng = random.Random(seed)
    while not stop.is_set():
        end = time.perf_counter() + rng.uniform(0.05, 0.5)
        while time.perf_counter() < end:
            pass
        time.sleep(rng.uniform(0.05, 0.5))


def _model(work: int):
    """A predict function whose CPU cost grows linearly with `work`."""
    matrix = np.random.default_rng(0).normal(size=(64, 64))

    def predict(frame: pd.DataFrame) -> np.ndarray:
        x = frame.to_numpy(dtype=float)[:, :1] * np.ones((len(frame), 64))
        for _ in range(work):
            x = np.tanh(x @ matrix / 8)
        return x[:, 0]

    return predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer seeds and samples (under a minute)")
    args = parser.parse_args()
    seeds, samples = (6, 40) if args.quick else (40, 200)
    X = pd.DataFrame({"x": np.random.default_rng(1).normal(size=500)})
    stop = mp.Event()
    burner = mp.Process(target=_burn, args=(stop, 7), daemon=True)
    burner.start()
    counts = {rule: {name: 0 for name in COSTS} for rule in ("shipyard", "naive")}
    try:
        for seed in range(seeds):
            for name, cost in COSTS.items():
                base, cand = _model(4), _model(round(4 * cost))
                got = compare_cost(cand, base, X, samples=samples, warmup=5, batch=200, seed=seed)
                counts["shipyard"][name] += got.latency.low > LIMIT
                alone_c = measure_performance(cand, X, samples=samples, warmup=5, batch=200)
                alone_b = measure_performance(base, X, samples=samples, warmup=5, batch=200)
                counts["naive"][name] += alone_c["latency_p99_ms"] / alone_b["latency_p99_ms"] > LIMIT
    finally:
        stop.set()
        burner.join(timeout=2)
    rows = []
    for rule, rejected in counts.items():
        false_alarms, misses = rejected["equal"], seeds - rejected["3x"]
        rows.append((rule, false_alarms, misses, rejected["1.5x"]))
        print(
            f"{rule:9s} equal-cost rejected {false_alarms}/{seeds}, 3x approved {misses}/{seeds}, "
            f"1.5x rejected {rejected['1.5x']}/{seeds}"
        )
    errors = {rule: fa + miss for rule, fa, miss, _ in rows}
    print(
        json.dumps(
            {
                "benchmark": "cost_ratio",
                "seeds": seeds,
                "samples": samples,
                "limit": LIMIT,
                "shipyard": counts["shipyard"],
                "naive": counts["naive"],
                "ratio": (errors["naive"] + 1) / (errors["shipyard"] + 1),
            }
        )
    )


if __name__ == "__main__":
    main()
