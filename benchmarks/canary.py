"""Seeded simulated rollouts through the canary analysis: how often each kind of canary is
promoted or rolled back with the default rules, at realistic traffic.

Each rollout runs the default steps (5, 25, 50, 100 % for 300 s each, an analysis every 30 s,
a deadline of 1,200 s) over Poisson traffic of `--rps` requests per second. Every analysis
evaluates the SAME gate classes on the step's cumulative window (production's since the
rollout began when the step holds too few of its requests: `step_baseline`, as live) and the SAME
`decide_step` as the controller. Model calls are micro-batched per route: the route with
more traffic runs bigger batches (1 + Poisson(4 x its share) rows), and a call costs
`overhead + per_row x rows` ms times log-normal noise (sigma 0.3); half the rollouts use a
per-call-dominated model (1 ms + 0.1 ms/row), half a per-row-dominated one (0.2 + 1 ms/row).

Canaries: `clean` (production's model: 0.2 % errors, same scores, same cost), `errors_5pct`
(5 % of requests fail), `slower_1_5x` (every call 1.5x longer) and `shifted_psi_0_25`
(scores Beta(a, 5) against production's Beta(2, 5), with `a` set so the true PSI is 0.25).
Targets: clean promoted >= 95 %, each fault rolled back >= 95 %. The same rollouts are also
run through the previous point-estimate rules (`legacy_report`), for comparison. Prints one
JSON line last;
`ratio` = the worst of the four rates / 0.95 (>= 1: every target met).

    python benchmarks/canary.py [--quick] [--seeds N] [--rps R]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from shipyard.config.policy import GateConfig, RolloutConfig
from shipyard.core.results import CheckResult, Report, Status
from shipyard.delivery.analysis import WindowAnalysis, figures_of, step_baseline
from shipyard.delivery.controller import build_analysis
from shipyard.delivery.decision import ADVANCE, ROLLBACK, decide_step
from shipyard.evaluation.outputs import ModelOutputs
from shipyard.evaluation.traffic import RouteSample, TrafficSample
from shipyard.gates.base import GateContext
from shipyard.gates.catalog import run_gates
from shipyard.gates.live import population_stability_index

TARGET = 0.95
BASE_ERRORS = 0.002
SCENARIOS = ("clean", "errors_5pct", "slower_1_5x", "shifted_psi_0_25")
#: the rules simulated: the default `rollout.analysis` plus a prediction-shift rule
EXTRA_RULES = [GateConfig(type="prediction_shift", max_psi=0.2)]


@dataclass(frozen=True)
class Canary:
    errors: float = BASE_ERRORS
    slow: float = 1.0
    beta_a: float = 2.0


def shifted_beta_a(target_psi: float = 0.25, seed: int = 12345) -> float:
    """The `a` of Beta(a, 5) whose PSI against Beta(2, 5) is `target_psi` (bisection, 400k rows)."""
    rng = np.random.default_rng(seed)
    reference = rng.beta(2, 5, 400_000)
    low, high = 2.0, 6.0
    for _ in range(30):
        mid = (low + high) / 2
        current = np.random.default_rng(seed + 1).beta(mid, 5, 400_000)
        low, high = (mid, high) if population_stability_index(reference, current) < target_psi else (low, mid)
    return (low + high) / 2


@dataclass
class Route:
    """A route's cumulative traffic in a window: requests, errors, scores and model calls."""

    requests: int = 0
    errors: int = 0
    scores: list[np.ndarray] = field(default_factory=list)
    calls_ms: list[np.ndarray] = field(default_factory=list)
    calls_rows: list[np.ndarray] = field(default_factory=list)

    def add(self, other: Route) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.scores += other.scores
        self.calls_ms += other.calls_ms
        self.calls_rows += other.calls_rows

    def sample(self) -> RouteSample:
        ms = np.concatenate(self.calls_ms) if self.calls_ms else np.empty(0)
        rows = np.concatenate(self.calls_rows) if self.calls_rows else np.empty(0)
        return RouteSample(self.requests, self.errors, ms, rows)

    def outputs(self) -> ModelOutputs:
        p = np.concatenate(self.scores) if self.scores else np.empty(0)
        return ModelOutputs((p > 0.5).astype(int).astype(str), np.column_stack([1 - p, p]), ("0", "1"))


def traffic(
    rng: np.random.Generator, n: int, share: float, canary: Canary, cost: tuple[float, float]
) -> Route:
    """`n` requests of one route over one analysis interval."""
    failed = int((rng.random(n) < canary.errors).sum())
    ok = n - failed
    sizes = []
    left = ok
    while left > 0:
        size = min(left, 1 + int(rng.poisson(4 * share)))
        sizes.append(size)
        left -= size
    rows = np.array(sizes, dtype=float)
    overhead, per_row = cost
    ms = canary.slow * (overhead + per_row * rows) * rng.lognormal(0, 0.3, len(rows))
    return Route(n, failed, [rng.beta(canary.beta_a, 5, ok)], [ms], [rows])


def context(candidate: Route, baseline: Route) -> GateContext:
    traffic_sample = TrafficSample(candidate.sample(), baseline.sample())
    figures = {**figures_of(traffic_sample.candidate), **figures_of(traffic_sample.baseline, "baseline_")}
    out = candidate.outputs()
    return GateContext(
        task="classification",
        y_true=np.full(len(out.y_pred), None, dtype=object),
        candidate=out,
        metrics={},
        baseline=baseline.outputs(),
        performance=figures | {"shadow_pairs": 0.0},
        traffic=traffic_sample,
    )


def legacy_report(candidate: Route, baseline: Route) -> Report:
    """The rules before they decided at the window's size, for comparison: point estimates
    against thresholds (error rate > 1%, p99 call time > 1.5x production's, PSI > 0.2 from
    200 rows), with no deadline (a stuck step is cut off at 10 step durations here)."""
    can, base = candidate.sample(), baseline.sample()
    ratio = (
        np.percentile(can.latency_ms, 99) / np.percentile(base.latency_ms, 99) if len(can.latency_ms) else 1.0
    )
    c_out, b_out = candidate.outputs(), baseline.outputs()
    rows = len(c_out.y_pred)
    psi = population_stability_index(b_out.y_score[:, 1], c_out.y_score[:, 1]) if rows >= 200 else 0.0
    failed = {
        "error_rate": can.errors / can.requests > 0.01,
        "latency_ratio": ratio > 1.5,
        "prediction_shift": psi > 0.2,
    }
    return Report.of(
        "rules",
        [CheckResult(k, Status.FAILED if v else Status.PASSED, "") for k, v in failed.items()],
    )


def rollout(
    seed: int, canary: Canary, config: RolloutConfig, rps: float, *, legacy: bool = False
) -> tuple[str, float]:
    """One simulated rollout: ("promoted" or what rolled it back, seconds it took)."""
    rng = np.random.default_rng(seed)
    gates = build_analysis(config, "classification")
    if legacy:
        config = config.model_copy(update={"step_deadline_s": 10 * config.step_duration_s})
    cost = (1.0, 0.1) if seed % 2 == 0 else (0.2, 1.0)
    production_model = Canary()
    since_start = Route()
    clock = 0.0
    for percent in config.steps:
        share = percent / 100
        step_canary, step_production = Route(), Route()
        violations: dict[str, int] = {}
        elapsed = 0.0
        while True:
            elapsed += config.analysis_interval_s
            expected = rps * config.analysis_interval_s
            n_canary, n_production = rng.poisson(expected * share), rng.poisson(expected * (1 - share))
            step_canary.add(traffic(rng, n_canary, share, canary, cost))
            fresh = traffic(rng, n_production, 1 - share, production_model, cost)
            step_production.add(fresh)
            since_start.add(fresh)
            use_step = step_baseline(step_production.requests, step_canary.requests, config.min_requests)
            baseline = step_production if use_step else since_start
            if step_canary.requests < config.min_requests:
                analysis = WindowAnalysis(Report.of("rules", []), step_canary.requests, False)
            else:
                ctx = context(step_canary, baseline)
                report = legacy_report(step_canary, baseline) if legacy else run_gates(gates, ctx)
                analysis = WindowAnalysis(report, step_canary.requests, True)
            decision = decide_step(analysis, violations, elapsed_s=elapsed, config=config)
            violations = decision.violations
            if decision.action == ROLLBACK:
                return f"step {percent:g}%: " + ",".join(decision.fired), clock + elapsed
            if decision.action == ADVANCE:
                break
        clock += elapsed
    return "promoted", clock


def measure(
    seeds: int, rps: float, config: RolloutConfig | None = None, *, legacy: bool = False
) -> dict[str, dict[str, float]]:
    """Promote and rollback counts and rates per scenario over `seeds` seeded rollouts
    (`legacy`: with the point-estimate rules these replaced)."""
    base = config or RolloutConfig()
    config = base.model_copy(update={"analysis": [*base.analysis, *EXTRA_RULES]})
    canaries = {
        "clean": Canary(),
        "errors_5pct": Canary(errors=0.05),
        "slower_1_5x": Canary(slow=1.5),
        "shifted_psi_0_25": Canary(beta_a=shifted_beta_a()),
    }
    results = {}
    for name, canary in canaries.items():
        outcomes = [rollout(1000 * seed + 7, canary, config, rps, legacy=legacy) for seed in range(seeds)]
        promoted = sum(o == "promoted" for o, _ in outcomes)
        wanted = promoted if name == "clean" else seeds - promoted
        results[name] = {
            "promoted": promoted,
            "rolled_back": seeds - promoted,
            "runs": seeds,
            "rate": wanted / seeds,
            "median_minutes": round(float(np.median([t for _, t in outcomes])) / 60, 1),
            "rolled_back_by": dict(Counter(o for o, _ in outcomes if o != "promoted").most_common(4)),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="25 seeds per scenario (under a minute)")
    parser.add_argument("--seeds", type=int, default=None, help="rollouts per scenario (default 200)")
    parser.add_argument("--rps", type=float, nargs="+", default=[5.0, 20.0], help="total requests per second")
    args = parser.parse_args(argv)
    seeds = args.seeds or (25 if args.quick else 200)
    start = time.perf_counter()
    summary: dict[str, object] = {
        "seeds": seeds,
        "targets": {"clean_promoted": TARGET, "fault_rolled_back": TARGET},
    }
    worst = math.inf
    for rps in args.rps:
        results = measure(seeds, rps)
        for name, row in results.items():
            wanted = "promoted" if name == "clean" else "rolled back"
            print(
                f"rps {rps:g} {name:<17} {wanted} {row['rate']:.1%} "
                f"({row['promoted']} promoted, {row['rolled_back']} rolled back of {row['runs']}; "
                f"median {row['median_minutes']} min) {row['rolled_back_by']}",
                file=sys.stderr,
            )
            worst = min(worst, row["rate"])
        summary[f"rps_{rps:g}"] = results
        legacy = measure(seeds, rps, legacy=True)
        print(
            f"rps {rps:g} the previous point-estimate rules: "
            + ", ".join(f"{name} {row['rate']:.0%} {row['rolled_back_by']}" for name, row in legacy.items()),
            file=sys.stderr,
        )
        summary[f"rps_{rps:g}_previous_rules"] = {name: row["rate"] for name, row in legacy.items()}
    summary["seconds"] = round(time.perf_counter() - start, 1)
    summary["ratio"] = round(worst / TARGET, 3)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
