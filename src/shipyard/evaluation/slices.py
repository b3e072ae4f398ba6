"""Metrics per slice of the test data: one slice per value of a column, or per quartile.

A model can be good on average and bad for one group; slices make that visible
and let a gate hold a floor per group.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from shipyard.errors import ConfigError
from shipyard.evaluation.metrics import compute_metrics
from shipyard.evaluation.outputs import ModelOutputs

MAX_CATEGORIES = 10  # a numeric column with more distinct values is cut into quartiles
MISSING = "<missing>"


def _take(outputs: ModelOutputs, mask: np.ndarray) -> ModelOutputs:
    return ModelOutputs(
        y_pred=np.asarray(outputs.y_pred)[mask],
        y_score=None if outputs.y_score is None else np.asarray(outputs.y_score)[mask],
        classes=outputs.classes,
    )


def _edge_texts(edges: np.ndarray) -> list[str]:
    """The shortest `g` formatting (6 digits or more) that keeps the edges distinct."""
    for digits in range(6, 18):
        texts = [f"{e:.{digits}g}" for e in edges]
        if len(set(texts)) == len(texts):
            break
    return texts


def slice_labels(column: pd.Series) -> tuple[pd.Series, list[str]]:
    """A readable slice name per row, and the names in value order (missing last).

    A numeric column with more than `MAX_CATEGORIES` values is cut into quartiles
    named like `[18, 31]`, `(31, 45]`; any other column gives one slice per value.
    """
    present = column.dropna()
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if numeric and present.nunique() > MAX_CATEGORIES:
        edges = present.quantile([0, 0.25, 0.5, 0.75, 1]).unique()
        text = _edge_texts(edges)
        names = [f"[{text[0]}, {text[1]}]"]
        names += [f"({low}, {high}]" for low, high in zip(text[1:-1], text[2:], strict=True)]
        bins = pd.cut(column, bins=edges, labels=names, include_lowest=True)
        labels = bins.astype(object)
    else:
        values = list(present.unique())
        with contextlib.suppress(TypeError):  # mixed types keep their order of appearance
            values = sorted(values)
        names = list(dict.fromkeys(str(v) for v in values))
        labels = column.map(str).astype(object)
    labels = labels.where(column.notna(), MISSING)
    seen = set(labels)
    ordered = [n for n in names if n in seen]
    return labels, [*ordered, MISSING] if MISSING in seen else ordered


def slice_metrics(
    task: str,
    y_true: np.ndarray,
    outputs: ModelOutputs,
    frame: pd.DataFrame,
    columns: Sequence[str],
    names: Sequence[str],
) -> dict[str, dict[str, dict[str, float]]]:
    """`{column: {slice: {metric: value, "count": rows}}}` for each column of `frame`.

    `frame` holds the test rows in the same order as `y_true` and `outputs`.
    """
    y = np.asarray(y_true)
    if len(frame) != len(y):
        raise ConfigError(
            f"slice_metrics: the frame has {len(frame)} rows but y_true has {len(y)}. "
            "Pass the test split's features, in the same row order as the labels."
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"shipyard.yaml: slices: column {missing[0]!r} is not in the test data. "
            f"Available columns: {', '.join(map(str, frame.columns))}."
        )
    result: dict[str, dict[str, dict[str, float]]] = {}
    for name in columns:
        column = frame[name].reset_index(drop=True)
        labels, ordered = slice_labels(column)
        per_slice: dict[str, dict[str, float]] = {}
        for label in ordered:
            mask = (labels == label).to_numpy()
            values = compute_metrics(task, y[mask], _take(outputs, mask), names)
            per_slice[label] = {**values, "count": float(mask.sum())}
        result[name] = per_slice
    return result
