"""Group fairness of binary decisions: a per-group table and the disparities between groups.

The table comes from fairlearn's `MetricFrame` (size, selection rate, true and
false positive rates, plus any Shipyard metric per group). Disparities are taken
over the groups with at least `min_group_size` rows only: a rate measured on five
rows says nothing, so smaller groups are listed as too small instead of compared.

Definitions (those of fairlearn, restricted to the eligible groups):

- demographic parity difference = max - min selection rate; ratio = min / max;
- equalized odds difference = the larger of the TPR and FPR differences;
- FPR ratio = min / max false positive rate.

A rate that is undefined in a group (a TPR where the group has no positive
label) is `nan` in the table and left out of that comparison; a ratio of two
zero rates is 1 (no group is treated worse).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from shipyard.evaluation.metrics import METRICS
from shipyard.evaluation.outputs import ModelOutputs
from shipyard.evaluation.slices import slice_labels

RATES = ("selection_rate", "tpr", "fpr")


def group_labels(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """One group name per row: the value of one column, or `a=x & b=y` for several.

    Numeric columns with many values are cut into quartiles, as for slices.
    """
    parts = [slice_labels(frame[c].reset_index(drop=True))[0].astype(str) for c in columns]
    if len(parts) == 1:
        return parts[0]
    named = [f"{column}=" + part for column, part in zip(columns, parts, strict=True)]
    labels = named[0]
    for part in named[1:]:
        labels = labels + " & " + part
    return labels


def binary_decisions(outputs: ModelOutputs, threshold: float) -> np.ndarray:
    """True where the model decides for the positive (last) class: score >= threshold."""
    if outputs.y_score is not None:
        return np.asarray(outputs.y_score, dtype=float)[:, -1] >= threshold
    return np.asarray(outputs.y_pred) == outputs.classes[-1]


@dataclass(frozen=True)
class Disparity:
    """One disparity across eligible groups and the pair of groups that sets it."""

    name: str
    value: float
    low_group: str | None = None
    high_group: str | None = None
    rate: str = ""
    low: float = math.nan
    high: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "rate": self.rate,
            "low_group": self.low_group,
            "low": self.low,
            "high_group": self.high_group,
            "high": self.high,
        }


@dataclass(frozen=True)
class FairnessResult:
    """The per-group table, which groups were too small, and the disparities."""

    table: pd.DataFrame
    too_small: list[str]
    disparities: dict[str, Disparity] = field(default_factory=dict)


def _metric_columns(outputs: ModelOutputs, decisions: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """MetricFrame metrics reading Shipyard metrics through row positions passed as `y_pred`."""
    positive, negative = np.asarray(outputs.classes[-1]), np.asarray(outputs.classes[0])
    labels = np.where(decisions, positive, negative)
    decided = ModelOutputs(labels, outputs.y_score, outputs.classes)

    def shipyard_metric(name: str) -> Any:
        def fn(y_true: np.ndarray, rows: np.ndarray) -> float:
            rows = np.asarray(rows, dtype=int)
            score = None if decided.y_score is None else np.asarray(decided.y_score)[rows]
            return METRICS[name](y_true, ModelOutputs(decided.y_pred[rows], score, decided.classes))

        return fn

    return {name: shipyard_metric(name) for name in names}


def group_table(
    y_true: np.ndarray,
    outputs: ModelOutputs,
    groups: pd.Series,
    *,
    threshold: float = 0.5,
    metrics: Sequence[str] = (),
) -> pd.DataFrame:
    """Per group (index): `size`, `positives`, `selection_rate`, `tpr`, `fpr`, then each metric.

    Binary classification: the positive class is the model's last class.
    """
    from fairlearn.metrics import MetricFrame

    y_pos = np.asarray(y_true) == outputs.classes[-1]
    decisions = binary_decisions(outputs, threshold)
    rates = MetricFrame(
        metrics={
            "size": lambda t, p: float(len(t)),
            "positives": lambda t, p: float(np.sum(t)),
            "selection_rate": lambda t, p: float(np.mean(p)),
            "tpr": lambda t, p: float(np.mean(p[t])) if t.any() else math.nan,
            "fpr": lambda t, p: float(np.mean(p[~t])) if (~t).any() else math.nan,
        },
        y_true=y_pos,
        y_pred=decisions,
        sensitive_features=groups.to_numpy(),
    ).by_group
    table = rates
    if metrics:
        per_metric = MetricFrame(
            metrics=_metric_columns(outputs, decisions, metrics),
            y_true=np.asarray(y_true),
            y_pred=np.arange(len(y_pos)),
            sensitive_features=groups.to_numpy(),
        ).by_group
        table = rates.join(per_metric)
    table.index = table.index.astype(str)
    table.index.name = "group"
    return table


def _spread(table: pd.DataFrame, rate: str, name: str) -> Disparity:
    values = table[rate].dropna()
    if len(values) < 2:
        return Disparity(name, math.nan, rate=rate)
    low_group, high_group = str(values.idxmin()), str(values.idxmax())
    low, high = float(values.min()), float(values.max())
    ratio = 1.0 if high == 0 else low / high  # two zero rates: no group is treated worse
    value = ratio if name.endswith("ratio") else high - low
    return Disparity(name, value, low_group, high_group, rate, low, high)


def disparities(table: pd.DataFrame, min_group_size: int) -> FairnessResult:
    """The disparities over groups with at least `min_group_size` rows."""
    eligible = table[table["size"] >= min_group_size]
    too_small = [str(g) for g in table.index[table["size"] < min_group_size]]
    tpr = _spread(eligible, "tpr", "tpr_difference")
    fpr = _spread(eligible, "fpr", "fpr_difference")
    defined = [d for d in (tpr, fpr) if not math.isnan(d.value)]
    odds = max(defined, key=lambda d: d.value) if defined else tpr
    found = {
        "demographic_parity_difference": _spread(eligible, "selection_rate", "demographic_parity_difference"),
        "demographic_parity_ratio": _spread(eligible, "selection_rate", "demographic_parity_ratio"),
        "equalized_odds_difference": replace(odds, name="equalized_odds_difference"),
        "fpr_ratio": _spread(eligible, "fpr", "fpr_ratio"),
    }
    return FairnessResult(table=table, too_small=too_small, disparities=found)
