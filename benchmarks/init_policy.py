"""Seeded simulation of the limits `shipyard init` proposes: how often a clean batch or a
decent model is refused (false alarms) and how often a useless model or an unfair one passes
(misses), with counts.

    python benchmarks/init_policy.py --quick     # < 1 min; the last line is one JSON object

Rules simulated (src/shipyard/config/_thresholds.py):
- `min_class_fraction`: batches a fifth of today's size drawn from the same source;
- `max_duplicate_fraction`: census-like coarse rows, batches of 20 % to 200 % of today's size;
- the average-precision floor: decent models (ROC AUC ~0.8) vs near-random ones (F1 ~0.04);
- the demographic-parity bound: a model that follows the labels vs one that adds 0.25 to the
  favoured group's positive decisions (amplifying the gap the labels have).

Known limit, shown by `doubled_export_misses`: when rows repeat naturally (coarse census
codes), an export written twice repeats no more than a larger clean batch does, so the
duplicate share cannot tell them apart; `data.max_rows` or an identifier column can.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from shipyard.config import _thresholds as limits


def _rate(hits: int, total: int) -> dict[str, float | int]:
    return {"count": hits, "of": total, "rate": round(hits / total, 4) if total else 0.0}


def class_fraction(rng: np.random.Generator, trials: int) -> dict[str, object]:
    alarms = total = 0
    for prevalence in (0.02, 0.05, 0.2, 0.5):
        for rows in (300, 891, 5000):
            today = rng.random(rows) < prevalence
            share = min(today.mean(), 1 - today.mean())
            batch = max(limits.min_rows(rows), rows // 5)
            floor = limits.min_class_fraction(share, batch)
            draws = rng.binomial(batch, prevalence, trials) / batch
            alarms += int((np.minimum(draws, 1 - draws) < floor).sum())
            total += trials
    return {"clean_batch_false_alarms": _rate(alarms, total)}


def _coarse(rng: np.random.Generator, rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "SEX": rng.choice([1, 2], rows),
            "SCHL": rng.choice(np.arange(16, 23), rows),
            "WKHP": rng.choice([20, 30, 40, 45, 50], rows, p=[0.1, 0.15, 0.5, 0.15, 0.1]),
            "COW": rng.choice([1, 2, 3], rows),
        }
    )


def duplicates(rng: np.random.Generator, trials: int) -> dict[str, object]:
    alarms = total = caught = 0
    for rows in (500, 3000):
        limit = limits.max_duplicate_fraction(limits.duplicate_share(_coarse(rng, rows)))
        for _ in range(trials):
            for factor in (0.2, 1.0, 2.0):
                batch = _coarse(rng, int(rows * factor))
                alarms += limits.duplicate_share(batch) > limit
                total += 1
            doubled = pd.concat([batch, batch])  # an export written twice
            caught += limits.duplicate_share(doubled) > limit
    return {
        "clean_batch_false_alarms": _rate(int(alarms), total),
        "doubled_export_misses": _rate(2 * trials - int(caught), 2 * trials),
    }


def quality_floor(rng: np.random.Generator, trials: int) -> dict[str, object]:
    refused = passed = 0
    for _ in range(trials):
        prevalence = float(rng.choice([0.05, 0.2, 0.5]))
        y = (rng.random(1000) < prevalence).astype(int)
        floor = limits.average_precision_floor(prevalence)
        decent = rng.normal(size=len(y)) + 1.2 * y  # ROC AUC about 0.8
        weak = rng.normal(size=len(y)) + 0.05 * y
        refused += average_precision_score(y, decent) < floor
        passed += average_precision_score(y, weak) >= floor
    return {
        "decent_model_false_alarms": _rate(int(refused), trials),
        "useless_model_misses": _rate(int(passed), trials),
    }


def fairness(rng: np.random.Generator, trials: int) -> dict[str, object]:
    alarms = misses = 0
    rows = 3000
    for _ in range(trials):
        group = rng.choice(["a", "b"], rows, p=[0.6, 0.4])
        label_rate = np.where(group == "a", 0.3, 0.2)
        positive = pd.Series((rng.random(rows) < label_rate).astype(float))
        bound = limits.demographic_parity_bound(pd.Series(group), positive, test_size=0.25, group_size=30)
        test = rng.random(rows) < 0.25
        fair = rng.random(rows) < label_rate
        unfair = rng.random(rows) < label_rate + np.where(group == "a", 0.25, 0.0)
        for decisions, is_fair in ((fair, True), (unfair, False)):
            rates = pd.Series(decisions[test]).groupby(group[test]).mean()
            over = float(rates.max() - rates.min()) > bound
            alarms += over and is_fair
            misses += (not over) and not is_fair
    return {
        "fair_model_false_alarms": _rate(int(alarms), trials),
        "unfair_model_misses": _rate(int(misses), trials),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer trials (< 1 min)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    trials = 100 if args.quick else 2000
    rng = np.random.default_rng(args.seed)
    results = {
        "min_class_fraction": class_fraction(rng, trials * 10),
        "max_duplicate_fraction": duplicates(rng, max(10, trials // 5)),
        "average_precision_floor": quality_floor(rng, trials),
        "demographic_parity_bound": fairness(rng, trials),
    }
    for name, result in results.items():
        print(f"{name}: {json.dumps(result)}", file=sys.stderr)
    false_alarms = sum(
        v["count"] for r in results.values() for k, v in r.items() if k.endswith("false_alarms")
    )
    print(
        json.dumps({"benchmark": "init_policy", "quick": args.quick, "false_alarms": false_alarms, **results})
    )


if __name__ == "__main__":
    main()
