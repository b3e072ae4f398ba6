"""Shared plumbing of the gates that call the model on raw rows (behaviour, robustness,
reproducibility): required context fields, scores, and example rows."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shipyard.errors import ConfigError
from shipyard.gates.base import GateContext

if TYPE_CHECKING:
    from shipyard.data.schema import Schema


def require(ctx: GateContext, field: str, owner: str) -> Any:
    """A context field the gate declared in `needs`, or a `ConfigError` saying how to fill it."""
    value = getattr(ctx, field)
    if value is None:
        raise ConfigError(
            f"{owner} needs GateContext.{field}, which is empty. `shipyard run` fills it for gates "
            f"that declare it in `needs`; from Python, pass GateContext({field}=...)."
        )
    return value


def target_of(ctx: GateContext) -> str:
    """The target column of the raw rows: the context's, else the schema's."""
    return ctx.target or (ctx.schema.target if ctx.schema is not None else "")


def score_matrix(model: Any, frame: pd.DataFrame, task: str) -> np.ndarray:
    """Per row: class probabilities (classifiers), the value (regression), or the label
    as a one-column object array (classifiers without `predict_proba`)."""
    predicted = model.predict_frame(frame)
    proba = [c for c in predicted.columns if str(c).startswith("proba_")]
    if proba:
        return predicted[proba].to_numpy(dtype=float)
    if task == "regression":
        return predicted[["prediction"]].to_numpy(dtype=float)
    return predicted[["prediction"]].to_numpy(dtype=object)


def row_changes(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Largest absolute change per row; 1.0 where a label changed (label-only classifiers)."""
    if before.dtype == object or after.dtype == object:
        return (before.astype(str) != after.astype(str)).any(axis=1).astype(float)
    return np.nanmax(np.abs(after - before), axis=1) if before.shape[1] else np.zeros(len(before))


def positive_score(model: Any, frame: pd.DataFrame, task: str, label: Any, owner: str) -> np.ndarray:
    """One score per row: the value (regression), or the probability of `label` (default: the
    positive class of a binary classifier)."""
    predicted = model.predict_frame(frame)
    if task == "regression":
        return predicted["prediction"].to_numpy(dtype=float)
    proba = [c for c in predicted.columns if str(c).startswith("proba_")]
    if not proba:
        raise ConfigError(f"{owner} needs class probabilities; the model has no predict_proba.")
    if label is None:
        if len(proba) != 2:
            raise ConfigError(
                f"{owner}: the model has {len(proba)} classes; name the one whose probability is "
                f"judged with the option 'label' (one of {[c.removeprefix('proba_') for c in proba]})."
            )
        return predicted[proba[1]].to_numpy(dtype=float)
    column = f"proba_{label}"
    if column not in predicted.columns:
        classes = [c.removeprefix("proba_") for c in proba]
        raise ConfigError(f"{owner}: 'label' {label!r} is not a class of the model. Its classes: {classes}.")
    return predicted[column].to_numpy(dtype=float)


def check_column(schema: Schema, column: str | None, where: str) -> None:
    """`ConfigError` with a suggestion when a named column is not in the schema."""
    if column is None or column in schema.names:
        return
    close = difflib.get_close_matches(column, schema.names, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else f" Columns: {', '.join(schema.names)}."
    raise ConfigError(f"{where}: column '{column}' is not in the schema.{hint}")


def example_rows(rows: pd.DataFrame, positions: np.ndarray, **columns: np.ndarray) -> list[dict[str, Any]]:
    """A few rows as dicts (inputs without the target), with extra per-row values added."""
    out = []
    for i, position in enumerate(positions):
        record = rows.iloc[int(position)].to_dict()
        record.update({name: values[i] for name, values in columns.items()})
        out.append(record)
    return out
