"""Seeded data sets with the traits real tabular data has and toy data lacks: a time column,
a year column, dates stored as text, pandas `category` columns, rare nulls, heavy tails,
naturally repeated rows, rare positives, sensitive attributes (by name, by census code, by
content). Small (300 to 3,000 rows) so `init -> run -> smoke` stays fast.

Each `RealisticSet` knows what a careful proposal looks like for it (`expect_*`), so tests
can check `shipyard init` against it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class RealisticSet:
    name: str
    file: str  # file name; .csv or .parquet
    target: str
    frame: pd.DataFrame
    expect_split: str
    expect_split_column: str | None = None
    expect_fairness: tuple[str, ...] = ()
    expect_invariance: tuple[str, ...] = ()

    def write(self, folder: Path) -> Path:
        path = folder / self.file
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.file.endswith(".csv"):
            self.frame.to_csv(path, index=False)
        else:
            self.frame.to_parquet(path, index=False)
        return path


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _with_rare_nulls(values: np.ndarray, rng: np.random.Generator, share: float = 0.01) -> np.ndarray:
    out = values.astype(float)
    out[rng.random(len(out)) < share] = np.nan
    return out


def _category(values: np.ndarray, as_category: bool) -> pd.Categorical | np.ndarray:
    return pd.Categorical(values) if as_category else values


def transactions(seed: int = 0, rows: int = 2000, *, category_dtype: bool = True) -> RealisticSet:
    """Payments over six months (a datetime column), heavy-tailed amounts with rare nulls, a
    category-dtype channel, about 10 % fraud."""
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.5, 1.2, rows) * rng.pareto(3.0, rows).clip(0.2, 20)
    channel = rng.choice(["web", "app", "shop", "phone"], rows, p=[0.5, 0.3, 0.15, 0.05])
    velocity = rng.poisson(2, rows)
    risk = rng.normal(size=rows)
    logit = -3.2 + 1.6 * risk + 0.5 * np.log1p(amount) / 3 + 0.6 * (channel == "phone") + 0.3 * velocity
    frame = pd.DataFrame(
        {
            "transaction_id": [f"t{seed}-{i:06d}" for i in range(rows)],
            "created_at": pd.Timestamp("2026-01-01")
            + pd.to_timedelta(np.sort(rng.uniform(0, 180, rows)), "D"),
            "amount": _with_rare_nulls(amount, rng),
            "channel": _category(channel, category_dtype),
            "velocity": velocity,
            "risk_score": risk.round(3),
            "is_fraud": (rng.random(rows) < _sigmoid(logit)).astype(int),
        }
    )
    return RealisticSet("transactions", "payments.parquet", "is_fraud", frame, "time", "created_at")


def census(seed: int = 0, rows: int = 3000) -> RealisticSet:
    """Census-like person records: coarse integer codes (SEX, RAC1P, MAR, DIS) so whole rows
    repeat naturally, a survey `year`, income above a threshold as the label (~25 %)."""
    rng = np.random.default_rng(seed)
    sex = rng.choice([1, 2], rows)
    race = rng.choice([1, 2, 6, 8, 9], rows, p=[0.6, 0.13, 0.1, 0.1, 0.07])
    marital = rng.choice([1, 3, 5], rows, p=[0.5, 0.15, 0.35])
    disability = rng.choice([1, 2], rows, p=[0.12, 0.88])
    education = rng.choice(np.arange(16, 23), rows)
    hours = rng.choice([20, 30, 40, 45, 50], rows, p=[0.1, 0.15, 0.5, 0.15, 0.1])
    logit = -5.6 + 0.7 * (education - 16) + 0.06 * hours + 0.8 * (marital == 1) - 0.4 * (sex == 2)
    frame = pd.DataFrame(
        {
            "year": rng.choice([2021, 2022, 2023, 2024], rows),
            "SCHL": education,
            "WKHP": hours,
            "COW": rng.choice([1, 2, 3], rows),
            "SEX": sex,
            "RAC1P": race,
            "MAR": marital,
            "DIS": disability,
            "PINCP_high": (rng.random(rows) < _sigmoid(logit)).astype(int),
        }
    )
    return RealisticSet(
        "census",
        "acs_income.csv",
        "PINCP_high",
        frame,
        "time",
        "year",
        expect_fairness=("SEX", "RAC1P", "MAR"),
        expect_invariance=("SEX", "RAC1P", "MAR"),
    )


def loans(seed: int = 0, rows: int = 2500, *, category_dtype: bool = True) -> RealisticSet:
    """Loan applications with 5 % defaults, the application date as ISO text in Parquet, an
    applicant column holding Male/Female under a name that says nothing, and an age band."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10.5, 0.6, rows)
    debt_ratio = rng.beta(2, 5, rows)
    history = rng.integers(0, 30, rows)
    logit = -4.9 + 11 * (debt_ratio - 0.29) - 0.14 * (history - 15) - 1.4 * (np.log(income) - 10.5)
    days = np.sort(rng.integers(0, 365, rows))
    frame = pd.DataFrame(
        {
            "application_date": (pd.Timestamp("2025-01-01") + pd.to_timedelta(days, "D")).strftime(
                "%Y-%m-%d"
            ),
            "income": _with_rare_nulls(income.round(0), rng, 0.005),
            "debt_ratio": debt_ratio.round(3),
            "credit_history_years": history,
            "purpose": _category(rng.choice(["car", "home", "education", "business"], rows), category_dtype),
            "applicant": rng.choice(["Male", "Female"], rows),
            "age_band": rng.choice(["18-25", "26-40", "41-65", "65+"], rows, p=[0.2, 0.4, 0.3, 0.1]),
            "default": (rng.random(rows) < _sigmoid(logit)).astype(int),
        }
    )
    return RealisticSet(
        "loans",
        "loan_book.parquet",
        "default",
        frame,
        "time",
        "application_date",
        expect_fairness=("applicant", "age_band"),
        expect_invariance=("applicant", "age_band"),
    )


def flowers(seed: int = 0, rows: int = 300) -> RealisticSet:
    """A small multiclass set (three species) with no time order and no people."""
    rng = np.random.default_rng(seed)
    species = rng.choice(["setosa", "versicolor", "virginica"], rows)
    shift = pd.Series(species).map({"setosa": 0.0, "versicolor": 1.5, "virginica": 3.0}).to_numpy()
    frame = pd.DataFrame(
        {
            "petal_length": (1.5 + shift + rng.normal(0, 0.4, rows)).round(1),
            "petal_width": (0.3 + shift / 2 + rng.normal(0, 0.2, rows)).round(1),
            "sepal_length": (5.0 + shift / 3 + rng.normal(0, 0.5, rows)).round(1),
            "species": species,
        }
    )
    return RealisticSet("flowers", "iris_like.csv", "species", frame, "stratified")


def house_prices(seed: int = 0, rows: int = 800, *, nullable_int: bool = True) -> RealisticSet:
    """Regression on heavy-tailed prices with a nullable integer column and an ethnicity
    column (invariance only: fairness needs a binary task)."""
    rng = np.random.default_rng(seed)
    area = rng.lognormal(4.5, 0.4, rows)
    rooms = rng.integers(1, 7, rows)
    price = 1500 * area * (1 + 0.1 * rooms) * rng.lognormal(0, 0.25, rows)
    garage = pd.array(rng.integers(0, 3, rows), dtype="Int64")
    garage[rng.random(rows) < 0.01] = pd.NA
    if not nullable_int:  # the same missing values as float64 NaN
        garage = garage.astype("float64")
    frame = pd.DataFrame(
        {
            "area_m2": area.round(1),
            "rooms": rooms,
            "garage_places": garage,
            "ethnicity_of_seller": rng.choice(["group_a", "group_b", "group_c"], rows),
            "price": price.round(0),
        }
    )
    return RealisticSet(
        "house_prices",
        "houses.parquet",
        "price",
        frame,
        "random",
        expect_invariance=("ethnicity_of_seller",),
    )


ALL: tuple[Callable[..., RealisticSet], ...] = (transactions, census, loans, flowers, house_prices)
