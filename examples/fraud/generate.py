"""Synthetic card transactions whose fraud label follows a known logistic function.

Every random number is drawn up front, whatever drift is asked for, so a drifted
frame differs from the undrifted one with the same seed only in what the drift
touches. Drifts (name -> strength):

- ``amount``: every amount is multiplied by ``1 + strength`` (strength >= 0).
- ``category``: a share ``strength`` (in [0, 1]) of rows moves to the unseen,
  risky merchant category ``crypto``.
- ``pattern``: the fraud function changes: the risk of new accounts fades by
  ``strength`` (in [0, 1]) while ``entertainment`` becomes risky.

Run ``python generate.py --help`` for the command line.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

HOME_COUNTRY = "US"
NEW_ACCOUNT_DAYS = 30
NIGHT_HOURS = range(0, 6)
UNSEEN_CATEGORY = "crypto"
PATTERN_CATEGORY = "entertainment"

# category: (share of transactions, log-amount mean, log-amount sd, fraud risk on the logit scale)
CATEGORIES = {
    "grocery": (0.25, 3.6, 0.6, -0.3),
    "restaurants": (0.15, 3.3, 0.6, 0.0),
    "fuel": (0.12, 3.7, 0.4, -0.2),
    "online_retail": (0.15, 4.0, 0.9, 0.9),
    "entertainment": (0.08, 3.5, 0.8, 0.0),
    "health": (0.07, 4.2, 0.9, -0.2),
    "electronics": (0.10, 5.2, 0.9, 1.1),
    "travel": (0.08, 5.8, 1.0, 0.8),
}
# the unseen category of the category drift: (log-amount mean, log-amount sd, fraud risk)
CRYPTO = (5.0, 1.0, 1.5)
COUNTRIES = {
    "US": 0.82,
    "CA": 0.05,
    "GB": 0.04,
    "DE": 0.03,
    "FR": 0.02,
    "MX": 0.02,
    "BR": 0.01,
    "NG": 0.01,
}
# device: (share, fraud risk on the logit scale)
DEVICES = {"mobile": (0.55, 0.4), "desktop": (0.35, 0.0), "tablet": (0.10, -0.2)}
# group: (share, mean account age in days); groups differ in account age, hence in fraud rate.
GROUPS = {"A": (0.50, 900.0), "B": (0.35, 600.0), "C": (0.15, 200.0)}
HOUR_WEIGHTS = np.array(
    [2, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 10, 11, 10, 9, 9, 10, 11, 12, 11, 9, 7, 5, 3], dtype=float
)

INTERCEPT = -6.0
COEF_LOG_AMOUNT = 1.0
LOG_AMOUNT_CENTRE = 4.0
COEF_NIGHT = 2.2
COEF_NEW_ACCOUNT = 2.4
COEF_FOREIGN = 1.6
COEF_PATTERN_CATEGORY = 2.5

DRIFTS = {"amount": (0.0, None), "category": (0.0, 1.0), "pattern": (0.0, 1.0)}
DEFAULT_STRENGTH = {"amount": 1.0, "category": 0.15, "pattern": 1.0}


def _check_drift(drift: Mapping[str, float]) -> dict[str, float]:
    checked = {}
    for name, strength in drift.items():
        if name not in DRIFTS:
            raise ValueError(
                f"The 'drift' option of generate must name one of {sorted(DRIFTS)}. "
                f"Got {name!r} instead. Pass e.g. drift={{'amount': 0.5}}."
            )
        low, high = DRIFTS[name]
        if not low <= strength <= (np.inf if high is None else high):
            bounds = f"[{low}, {high}]" if high is not None else f">= {low}"
            raise ValueError(
                f"The strength of drift '{name}' must be a float {bounds}. Got {strength!r} instead."
            )
        checked[name] = float(strength)
    return checked


def fraud_logit(frame: pd.DataFrame, *, pattern: float = 0.0) -> np.ndarray:
    """The known fraud log-odds of raw transactions (before label noise)."""
    risk = {name: spec[3] for name, spec in CATEGORIES.items()} | {UNSEEN_CATEGORY: CRYPTO[2]}
    category = frame["merchant_category"].to_numpy()
    category_risk = np.array([risk[c] for c in category], dtype=float)
    category_risk += COEF_PATTERN_CATEGORY * pattern * (category == PATTERN_CATEGORY)
    device_risk = frame["device"].map({d: spec[1] for d, spec in DEVICES.items()}).to_numpy(float)
    night = frame["timestamp"].dt.hour.isin(NIGHT_HOURS).to_numpy()
    new = (frame["account_age_days"] < NEW_ACCOUNT_DAYS).to_numpy()
    foreign = (frame["country"] != HOME_COUNTRY).to_numpy()
    return (
        INTERCEPT
        + COEF_LOG_AMOUNT * (np.log(frame["amount"].to_numpy()) - LOG_AMOUNT_CENTRE)
        + COEF_NIGHT * night
        + COEF_NEW_ACCOUNT * (1.0 - pattern) * new
        + COEF_FOREIGN * foreign
        + category_risk
        + device_risk
    )


def generate(
    rows: int,
    *,
    seed: int = 0,
    start: str = "2026-01-01",
    days: int = 28,
    drift: Mapping[str, float] | None = None,
    label_noise: float = 0.001,
) -> pd.DataFrame:
    """Generate `rows` transactions over `days` days from `start`, sorted by time.

    `drift` maps drift names ('amount', 'category', 'pattern') to strengths;
    `label_noise` is the share of labels flipped after drawing from the fraud function.
    """
    if rows < 1:
        raise ValueError(f"The 'rows' option of generate must be an int >= 1. Got {rows!r} instead.")
    if days < 1:
        raise ValueError(f"The 'days' option of generate must be an int >= 1. Got {days!r} instead.")
    if not 0.0 <= label_noise <= 0.5:
        raise ValueError(
            f"The 'label_noise' option of generate must be a float in [0, 0.5]. Got {label_noise!r} instead."
        )
    strengths = _check_drift(drift or {})
    rng = np.random.default_rng(seed)

    day = rng.integers(0, days, rows)
    hour = rng.choice(24, rows, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    second = rng.integers(0, 3600, rows)
    names = list(CATEGORIES)
    category = rng.choice(names, rows, p=[CATEGORIES[c][0] for c in names]).astype(object)
    z_amount = rng.standard_normal(rows)
    group = rng.choice(list(GROUPS), rows, p=[g[0] for g in GROUPS.values()])
    age_scale = np.array([GROUPS[g][1] for g in group])
    account_age = np.floor(rng.exponential(age_scale)).astype(np.int64)
    country = rng.choice(list(COUNTRIES), rows, p=list(COUNTRIES.values()))
    device = rng.choice(list(DEVICES), rows, p=[d[0] for d in DEVICES.values()])
    u_crypto, u_label, u_noise = rng.random((3, rows))

    category[u_crypto < strengths.get("category", 0.0)] = UNSEEN_CATEGORY
    spec = {name: s[1:3] for name, s in CATEGORIES.items()} | {UNSEEN_CATEGORY: CRYPTO[:2]}
    mu = np.array([spec[c][0] for c in category])
    sigma = np.array([spec[c][1] for c in category])
    amount = np.round(np.exp(mu + sigma * z_amount) * (1.0 + strengths.get("amount", 0.0)), 2)
    seconds = (day * 86_400 + hour * 3_600 + second).astype("timedelta64[s]")
    timestamp = np.datetime64(pd.Timestamp(start).to_datetime64(), "s") + seconds

    frame = pd.DataFrame(
        {
            "timestamp": pd.Series(timestamp).astype("datetime64[us]"),
            "amount": np.maximum(amount, 0.01),
            "merchant_category": pd.Series(category, dtype="str"),
            "account_age_days": account_age,
            "country": pd.Series(country, dtype="str"),
            "device": pd.Series(device, dtype="str"),
            "customer_group": pd.Series(group, dtype="str"),
        }
    )
    probability = 1.0 / (1.0 + np.exp(-fraud_logit(frame, pattern=strengths.get("pattern", 0.0))))
    label = (u_label < probability) ^ (u_noise < label_noise)
    frame["is_fraud"] = label.astype(np.int64)

    frame = frame.iloc[np.argsort(seconds, kind="stable")].reset_index(drop=True)
    frame.insert(0, "transaction_id", np.arange(1, rows + 1, dtype=np.int64))
    return frame


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", default="2026-01-01", help="first day (YYYY-MM-DD)")
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--drift", choices=[*DRIFTS, "none"], default="none")
    parser.add_argument(
        "--drift-strength",
        type=float,
        default=None,
        help=f"strength of --drift; defaults: {DEFAULT_STRENGTH}",
    )
    parser.add_argument("--out", type=Path, default=Path("data/transactions.parquet"))
    args = parser.parse_args(argv)
    drift = {}
    if args.drift != "none":
        strength = args.drift_strength
        drift[args.drift] = DEFAULT_STRENGTH[args.drift] if strength is None else strength
    frame = generate(args.rows, seed=args.seed, start=args.start, days=args.days, drift=drift)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(args.out, index=False)
    print(f"wrote {len(frame):,} rows ({frame['is_fraud'].mean():.2%} fraud) to {args.out}")


if __name__ == "__main__":
    main()
