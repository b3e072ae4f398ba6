"""Drift verdicts calibrated to the window size: false alarms on same-distribution data and power.

Each run draws a reference and a current window of n rows each from the same 25-column
distribution (20 numeric: normal, lognormal, gamma, Poisson counts, uniform; 5 categorical
with 3 to 12 levels, some rare), profiles the reference (what registration stores) and runs
`detect_drift` against the profile with the default `monitoring` settings, as
`shipyard monitor drift` does. A run is a false alarm when any column is flagged.

Power runs shift one normal column by 0.5 standard deviation (detected when that column is
flagged), and the shifts of issue 10 (1 sd in 2 of 10 columns, 0.5 sd in 5 of 25) must fail
the check (exit 1).

    python benchmarks/drift_calibration.py --quick      # sizes up to 100k, under a minute
    python benchmarks/drift_calibration.py --workers 16 # sizes 100 to 1,000,000

The last line is one JSON object; `ratio` = min(0.05 / worst false-alarm rate, worst power /
0.90): at or above 1, both targets are met.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from shipyard.config.policy import MonitoringConfig  # noqa: E402
from shipyard.data.profile import build_profile  # noqa: E402
from shipyard.monitoring.engine import detect_drift  # noqa: E402

TARGET_FALSE_ALARMS = 0.05
TARGET_POWER = 0.90
ISSUE_RUNS = 20
LEVELS = [3, 5, 8, 12, 4]
# standard deviation of each numeric family: normal, lognormal(0, 1), gamma(2, 2), Poisson(4), U(0, 10)
SD = [1.0, float(np.sqrt((np.e - 1) * np.e)), 2.0 * np.sqrt(2.0), 2.0, 10.0 / np.sqrt(12.0)]


def _categorical(rng: np.random.Generator, n: int, levels: int) -> pa.Array:
    weights = 1.0 / np.arange(1, levels + 1) ** 1.2  # Zipf-like: the last levels are rare
    codes = np.searchsorted(np.cumsum(weights / weights.sum()), rng.random(n)).astype(np.int32)
    names = pa.array([f"level_{i}" for i in range(levels)])
    return pa.DictionaryArray.from_arrays(np.minimum(codes, levels - 1), names)


def frame(rng: np.random.Generator, n: int, shifts: dict[str, float] | None = None) -> pa.Table:
    """20 numeric and 5 categorical columns; `shifts` moves numeric columns by so many sd."""
    shifts = shifts or {}
    columns: dict[str, pa.Array] = {}
    for i in range(20):
        name = f"x{i}"
        family = i % 5
        if family == 0:
            values = rng.standard_normal(n)
        elif family == 1:
            values = rng.lognormal(0.0, 1.0, n)
        elif family == 2:
            values = rng.gamma(2.0, 2.0, n)
        elif family == 3:
            values = rng.poisson(4.0, n).astype(np.float64)
        else:
            values = rng.uniform(0.0, 10.0, n)
        columns[name] = pa.array(values + shifts.get(name, 0.0) * SD[family])
    for j, levels in enumerate(LEVELS):
        columns[f"c{j}"] = _categorical(rng, n, levels)
    return pa.table(columns)


def one_run(task: tuple[str, int, int, dict[str, float]]) -> tuple[str, int, list[str], bool]:
    """(kind, n, flagged columns, check failed) for one seeded run."""
    kind, n, seed, shifts = task
    rng = np.random.default_rng([n, seed, len(shifts)])
    profile = build_profile(frame(rng, n))
    report = detect_drift(profile, frame(rng, n, shifts), MonitoringConfig(), workers=1)
    return kind, n, [f.name for f in report.drifted], not report.to_report().passed


def _rate(hits: int, runs: int) -> dict[str, float | int]:
    return {"hits": hits, "runs": runs, "rate": round(hits / runs, 4) if runs else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes up to 100k (under a minute)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the full form's run counts")
    args = parser.parse_args()
    if args.quick:
        null_runs = {100: 160, 1_000: 160, 10_000: 40, 100_000: 6}
        power_runs = {2_000: 40, 10_000: 10}
    else:
        null_runs = {100: 1000, 300: 500, 1_000: 500, 10_000: 300, 100_000: 100, 1_000_000: 40}
        power_runs = {2_000: 300, 10_000: 100, 100_000: 40}
        null_runs = {n: max(int(r * args.scale), 5) for n, r in null_runs.items()}
        power_runs = {n: max(int(r * args.scale), 5) for n, r in power_runs.items()}
    tasks = [("null", n, s, {}) for n, runs in null_runs.items() for s in range(runs)]
    tasks += [("power", n, s, {"x0": 0.5}) for n, runs in power_runs.items() for s in range(runs)]
    issue = {
        "1sd_2_of_25": {"x0": 1.0, "x1": 1.0},
        "half_sd_5_of_25": {f"x{i}": 0.5 for i in range(5)},
    }
    tasks += [(name, 1_000, s, shifts) for name, shifts in issue.items() for s in range(ISSUE_RUNS)]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        done = list(pool.map(one_run, tasks, chunksize=4))
    seconds = time.perf_counter() - start

    false_alarms = {
        n: _rate(sum(bool(f) for k, m, f, _ in done if k == "null" and m == n), runs)
        for n, runs in null_runs.items()
    }
    power = {
        n: _rate(sum("x0" in f for k, m, f, _ in done if k == "power" and m == n), runs)
        for n, runs in power_runs.items()
    }
    others = sum(len([c for c in f if c != "x0"]) for k, _, f, _ in done if k == "power")
    failed = {name: _rate(sum(fail for k, _, _, fail in done if k == name), ISSUE_RUNS) for name in issue}
    for n, r in false_alarms.items():
        print(f"same distribution, {n:>9,} rows a side: {r['hits']:>4} of {r['runs']} runs flag a column")
    for n, r in power.items():
        print(f"0.5 sd shift in x0, {n:>8,} rows a side: found in {r['hits']:>4} of {r['runs']} runs")
    for name, r in failed.items():
        print(f"{name} at 1,000 rows: check failed (exit 1) in {r['hits']} of {r['runs']} runs")
    worst_false = max(r["rate"] for r in false_alarms.values())
    worst_power = min(r["rate"] for r in power.values())
    floor = 0.5 / max(runs for runs in null_runs.values())
    ratio = min(TARGET_FALSE_ALARMS / max(worst_false, floor), worst_power / TARGET_POWER)
    print(
        json.dumps(
            {
                "benchmark": "drift_calibration",
                "quick": args.quick,
                "columns": 25,
                "false_alarms": {str(n): r for n, r in false_alarms.items()},
                "power_half_sd_one_column": {str(n): r for n, r in power.items()},
                "other_columns_flagged_in_power_runs": others,
                "issue_shifts_failed": failed,
                "worst_false_alarm_rate": worst_false,
                "worst_power": worst_power,
                "seconds": round(seconds, 1),
                "ratio": round(ratio, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
