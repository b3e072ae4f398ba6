"""Batch validation: false alarms on clean batches and misses on seeded faults, over seeds and sizes.

For each size and seed, a reference and a batch (a fifth as many rows) are drawn from
one source with realistic traits: a normal and a heavy-tailed (lognormal) measure, a
zero-inflated amount, an age, a `year`, a text date, a rare-null column, a long-tailed
category (Zipf), a low-cardinality category, a boolean and coarse columns whose rows
repeat. The schema is inferred from the reference and `shipyard.yaml`'s data rules
come from `propose_min_rows` / `propose_max_duplicate_fraction`, as `init` proposes.

- clean: the batch as drawn; any blocking failure is a false alarm.
- faults (one per batch copy, the column picked by the seed): `nulls` (10 % of a column
  that never had nulls set to null), `scale` (5 % of rows of a numeric column times
  1,000, at least 10 rows), `sentinel` (one row set to -999), `type` (a numeric column
  written as text), `new_categories` (20 % of a category column set to unseen values),
  `volume` (a batch cut below `min_rows`). A fault is caught when the report has a
  blocking failure naming its column (the volume check for `volume`).

Prints counts per size and kind; the last line is one JSON object whose `ratio` is
detection rate / (false-alarm rate + 0.01): 100 means every fault caught and no false
alarm; a false-alarm rate of 1 % halves it.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

import numpy as np
import pandas as pd

from shipyard.data import infer_schema, propose_max_duplicate_fraction, propose_min_rows, validate

TARGET = "label"
NUMERIC = ("income", "amount", "gain", "age", "score")
CATEGORIES = ("city", "band")
NEVER_NULL = ("income", "amount", "age", "score", "city", "band")


def draw(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Rows from one source; every call with a new generator is a new sample of it."""
    cities = [f"city_{i:02d}" for i in range(40)]
    weights = 1.0 / np.arange(1, 41) ** 1.3
    day = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 5 * 365, rows), unit="D")
    gain = np.where(rng.random(rows) < 0.9, 0.0, rng.lognormal(8.0, 1.2, rows)).round(0)
    score = rng.normal(0.0, 1.0, rows)
    score[rng.random(rows) < 0.004] = np.nan
    frame = pd.DataFrame(
        {
            "income": rng.gamma(16.0, 3_000.0, rows).round(2),  # never negative, as incomes
            "amount": rng.lognormal(3.0, 1.5, rows).round(2),
            "gain": gain,
            "age": rng.integers(18, 91, rows),
            "year": rng.integers(2015, 2025, rows),
            "day": day.strftime("%Y-%m-%d"),
            "score": score,
            "city": rng.choice(cities, rows, p=weights / weights.sum()),
            "band": pd.Categorical(rng.choice(["low", "mid", "high"], rows, p=[0.5, 0.3, 0.2])),
            "flag": rng.random(rows) < 0.2,
            "sex": rng.choice(["f", "m"], rows),
        }
    )
    frame[TARGET] = (rng.random(rows) < 0.1 + 0.2 * (frame["age"] > 60)).astype(int)
    return frame


def _inject(
    batch: pd.DataFrame, kind: str, rng: np.random.Generator, min_rows: int
) -> tuple[pd.DataFrame, str]:
    """A copy of `batch` with one fault; returns it and the column the report must name."""
    df = batch.copy()
    rows = len(df)
    if kind == "nulls":
        column = str(rng.choice(NEVER_NULL))
        at = rng.choice(rows, max(1, rows // 10), replace=False)
        df[column] = df[column].astype(object) if column in CATEGORIES else df[column].astype("float64")
        df.loc[df.index[at], column] = None
        return df, column
    if kind == "scale":
        column = str(rng.choice(NUMERIC))
        at = rng.choice(rows, min(rows, max(10, rows // 20)), replace=False)
        df[column] = df[column].astype("float64")
        df.loc[df.index[at], column] = df[column].iloc[at] * 1000 + 1000
        return df, column
    if kind == "sentinel":
        column = str(rng.choice(NUMERIC))
        df[column] = df[column].astype("float64")
        df.loc[df.index[int(rng.integers(rows))], column] = -999.0
        return df, column
    if kind == "type":
        column = str(rng.choice(NUMERIC))
        df[column] = df[column].map(lambda v: f"{v:,.2f}")
        return df, column
    if kind == "new_categories":
        column = str(rng.choice(CATEGORIES))
        at = rng.choice(rows, max(1, rows // 5), replace=False)
        df[column] = df[column].astype(object)
        df.loc[df.index[at], column] = [f"new_{i % 7}" for i in range(len(at))]
        return df, column
    if kind == "volume":
        return df.iloc[: max(0, min_rows // 2)], ""
    raise ValueError(kind)


FAULTS = ("nulls", "scale", "sentinel", "type", "new_categories", "volume")


def _caught(report, column: str) -> bool:
    if not column:
        return any(f.check == "volume" for f in report.failures)
    return any(f.subject == column for f in report.failures)


def trial(rows: int, seed: int) -> dict[str, object]:
    """One reference (rows) and one batch (rows / 4: a 20 % hold-out), clean and with each fault."""
    rng = np.random.default_rng(seed)
    reference, batch = draw(rows, rng), draw(max(1, rows // 4), rng)
    schema = infer_schema(reference, target=TARGET)
    rules = {
        "min_rows": propose_min_rows(len(reference)),
        "max_duplicate_fraction": propose_max_duplicate_fraction(reference),
    }

    def check(df: pd.DataFrame):
        return validate(df, schema, target=TARGET, task="classification", **rules)

    own = check(reference)
    clean = check(batch)
    outcome: dict[str, object] = {
        "own_alarm": not own.passed,
        "clean_alarm": not clean.passed,
        "clean_failures": [f"{f.check}:{f.subject}" for f in clean.failures],
        "clean_warnings": len(clean.warnings),
    }
    for kind in FAULTS:
        faulty, column = _inject(batch, kind, rng, rules["min_rows"])
        outcome[kind] = _caught(check(faulty), column)
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer seeds and sizes (under a minute)")
    args = parser.parse_args()
    sizes = (100, 1_000, 10_000) if args.quick else (100, 500, 1_000, 10_000, 100_000, 1_000_000)
    seeds = 10 if args.quick else 40
    start = time.perf_counter()
    totals: Counter[str] = Counter()
    alarms: Counter[str] = Counter()
    for rows in sizes:
        counts: Counter[str] = Counter()
        runs = seeds if rows <= 100_000 else max(2, seeds // 10)
        for seed in range(runs):
            result = trial(rows, seed)
            counts["batches"] += 1
            counts["clean_alarm"] += bool(result["clean_alarm"])
            counts["own_alarm"] += bool(result["own_alarm"])
            counts["clean_warnings"] += int(result["clean_warnings"])  # type: ignore[call-overload]
            alarms.update(result["clean_failures"])  # type: ignore[arg-type]
            for kind in FAULTS:
                counts[f"{kind}_caught"] += bool(result[kind])
        totals.update(counts)
        caught = ", ".join(f"{k} {counts[f'{k}_caught']}/{runs}" for k in FAULTS)
        print(
            f"rows {rows:>9,}: clean false alarms {counts['clean_alarm']}/{runs}, reference fails its own "
            f"rules {counts['own_alarm']}/{runs}, warnings per clean batch "
            f"{counts['clean_warnings'] / runs:.1f}; caught: {caught}"
        )
    if alarms:
        print("false alarms by check:column:", dict(alarms.most_common(10)))
    batches = totals["batches"]
    false_alarm = totals["clean_alarm"] / batches
    detected = sum(totals[f"{k}_caught"] for k in FAULTS) / (batches * len(FAULTS))
    summary = {
        "benchmark": "batch_validation",
        "quick": args.quick,
        "batches": batches,
        "clean_false_alarms": totals["clean_alarm"],
        "own_data_false_alarms": totals["own_alarm"],
        "faults": batches * len(FAULTS),
        "faults_caught": sum(totals[f"{k}_caught"] for k in FAULTS),
        "miss_rate_by_fault": {k: round(1 - totals[f"{k}_caught"] / batches, 4) for k in FAULTS},
        "false_alarm_rate": round(false_alarm, 4),
        "detection_rate": round(detected, 4),
        "seconds": round(time.perf_counter() - start, 1),
        "ratio": round(detected / (false_alarm + 0.01), 2),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
