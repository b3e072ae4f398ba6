"""Row-wise, stateless features: the same function runs on a training set and on one served row.

Nothing here looks at other rows (no means, no vocabularies), so features of a
one-row frame equal that row's features in the full frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HOME_COUNTRY = "US"
NEW_ACCOUNT_DAYS = 30
NIGHT_START, NIGHT_END = 0, 6
TARGET = "is_fraud"
DROPPED = ("transaction_id", "timestamp", "customer_group", TARGET)
CATEGORICAL = ["merchant_category", "country", "device"]
NUMERIC = [
    "log_amount",
    "hour",
    "is_night",
    "weekday",
    "account_age_days",
    "is_new_account",
    "is_foreign",
]


def _flag(condition: pd.Series, known: pd.Series) -> pd.Series:
    """A 0/1 float flag that stays NaN where its input is missing."""
    return condition.astype(float).where(known)


def build_features(df: pd.DataFrame) -> pd.DataFrame:
    """Turn raw transactions into model inputs: numeric columns as float64, categoricals as str.

    Raises a ValueError naming the missing columns when a raw column is absent.
    """
    needed = ["timestamp", "amount", "account_age_days", *CATEGORICAL]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(
            f"build_features needs the raw columns {needed}; {missing} are missing "
            f"(got {list(df.columns)}). Check the input against schema.yaml."
        )
    timestamp = pd.to_datetime(df["timestamp"])
    hour = timestamp.dt.hour.astype(float)
    age = df["account_age_days"].astype(float)
    country = df["country"].astype("str")
    out = pd.DataFrame(index=df.index)
    out["log_amount"] = np.log1p(df["amount"].astype(float))
    out["hour"] = hour
    out["is_night"] = _flag(hour.between(NIGHT_START, NIGHT_END - 1), hour.notna())
    out["weekday"] = timestamp.dt.day_of_week.astype(float)
    out["account_age_days"] = age
    out["is_new_account"] = _flag(age < NEW_ACCOUNT_DAYS, age.notna())
    out["is_foreign"] = _flag(country != HOME_COUNTRY, country.notna())
    for column in CATEGORICAL:
        out[column] = df[column].astype("str")
    return out
