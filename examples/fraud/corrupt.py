"""Break a batch of transactions the ways real feeds break, for the demo's validation step.

The corrupted batch has: column ``amount`` renamed to ``amt``; ``account_age_days``
as strings; the unseen merchant category ``crypto``; nulls in ``country`` and ``device``.

Run ``python corrupt.py --help`` for the command line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

UNSEEN_CATEGORY = "crypto"
NULL_COLUMNS = ("country", "device")


def corrupt(df: pd.DataFrame, *, seed: int = 0, fraction: float = 0.05) -> pd.DataFrame:
    """Return a corrupted copy of `df`; `fraction` of rows get the unseen category and nulls."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(
            f"The 'fraction' option of corrupt must be a float in (0, 1]. Got {fraction!r} instead."
        )
    missing = [
        c for c in ("amount", "account_age_days", "merchant_category", *NULL_COLUMNS) if c not in df.columns
    ]
    if missing:
        raise ValueError(
            f"corrupt needs the columns {missing}, which are absent. Pass a frame from generate.py."
        )
    rng = np.random.default_rng(seed)
    count = max(1, round(fraction * len(df)))
    out = df.copy()
    out["merchant_category"] = out["merchant_category"].astype("str")
    out.loc[rng.choice(out.index, count, replace=False), "merchant_category"] = UNSEEN_CATEGORY
    for column in NULL_COLUMNS:
        out[column] = out[column].astype("str")
        out.loc[rng.choice(out.index, count, replace=False), column] = None
    out["account_age_days"] = out["account_age_days"].astype("str")
    return out.rename(columns={"amount": "amt"})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--in", dest="source", type=Path, default=Path("data/sample.parquet"))
    parser.add_argument("--out", type=Path, default=Path("data/corrupted.parquet"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fraction", type=float, default=0.05, help="share of rows damaged")
    args = parser.parse_args(argv)
    frame = corrupt(pd.read_parquet(args.source), seed=args.seed, fraction=args.fraction)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(args.out, index=False)
    print(f"wrote {len(frame):,} corrupted rows to {args.out}")


if __name__ == "__main__":
    main()
