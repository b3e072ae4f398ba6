"""Metrics as pure functions of `(y_true, outputs) -> float`, declared once in `METRICS`.

Classification metrics treat the last class of the model as the positive one in
binary tasks and macro-average over classes otherwise. A metric that is not
defined on the data (ROC AUC with one class in `y_true`, any metric on zero
rows) is `nan`, never an exception, so one odd slice cannot stop an evaluation.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import pandas as pd

from shipyard.core.tasks import TASKS
from shipyard.errors import ConfigError
from shipyard.evaluation.outputs import ModelOutputs

MetricFunction = Callable[[np.ndarray, ModelOutputs], float]


def skm() -> ModuleType:
    """scikit-learn's metrics, imported on first use: checking metric names must stay cheap."""
    import sklearn.metrics

    return sklearn.metrics


@dataclass(frozen=True)
class Metric:
    """A named metric: which task it applies to, its direction, and whether it reads scores."""

    name: str
    task: str
    greater_is_better: bool
    needs_score: bool
    fn: MetricFunction

    def __call__(self, y_true: np.ndarray, outputs: ModelOutputs) -> float:
        """The metric on these rows, or `nan` where it is not defined."""
        y_true = np.asarray(y_true)
        if len(y_true) == 0 or (self.needs_score and outputs.y_score is None):
            return math.nan
        try:
            return float(self.fn(y_true, outputs))
        except ValueError:
            # scikit-learn raises ValueError for inputs on which the metric is undefined
            # (e.g. probabilities outside [0, 1]); the output contract gate reports those.
            return math.nan


def class_labels(y_true: np.ndarray, outputs: ModelOutputs) -> list[object]:
    """The model's classes in its order, then other labels seen in `y_true` or `y_pred`, sorted."""
    known = pd.Index(list(outputs.classes))
    seen = pd.Index(pd.unique(np.concatenate([np.asarray(y_true), np.asarray(outputs.y_pred)])))
    return [*known, *seen.difference(known)]


def _sorted_columns(labels: Sequence[object]) -> np.ndarray:
    """Column order that sorts `labels`, as scikit-learn's probabilistic metrics expect."""
    return np.argsort(np.asarray(labels), kind="stable")


def _accuracy(y_true: np.ndarray, outputs: ModelOutputs) -> float:
    return skm().accuracy_score(y_true, outputs.y_pred)


def _set_wise(index: int) -> MetricFunction:
    """Precision (0), recall (1) or F1 (2): of the last class when binary, macro otherwise."""

    def fn(y_true: np.ndarray, outputs: ModelOutputs) -> float:
        labels = class_labels(y_true, outputs)
        chosen = [labels[-1]] if len(labels) <= 2 else None
        scores = skm().precision_recall_fscore_support(
            y_true, outputs.y_pred, labels=chosen, average="macro", zero_division=0
        )
        return scores[index]

    return fn


def _binary_roc_auc(positive: np.ndarray, score: np.ndarray) -> float:
    if positive.all() or not positive.any():
        return math.nan
    return skm().roc_auc_score(positive, score)


def _binary_average_precision(positive: np.ndarray, score: np.ndarray) -> float:
    return skm().average_precision_score(positive, score) if positive.any() else math.nan


def _one_vs_rest(binary: Callable[[np.ndarray, np.ndarray], float]) -> MetricFunction:
    """`binary` on the positive class, or its mean over the classes present in `y_true`."""

    def fn(y_true: np.ndarray, outputs: ModelOutputs) -> float:
        labels = class_labels(y_true, outputs)
        scores = np.asarray(outputs.y_score)
        if len(labels) <= 2:
            return binary(y_true == labels[-1], scores[:, -1])
        values = [binary(y_true == labels[k], scores[:, k]) for k in range(scores.shape[1])]
        defined = [v for v in values if not math.isnan(v)]
        return float(np.mean(defined)) if defined else math.nan

    return fn


def _log_loss(y_true: np.ndarray, outputs: ModelOutputs) -> float:
    labels = class_labels(y_true, outputs)
    order = _sorted_columns(labels)
    return skm().log_loss(y_true, np.asarray(outputs.y_score)[:, order], labels=np.asarray(labels)[order])


def _brier(y_true: np.ndarray, outputs: ModelOutputs) -> float:
    labels = class_labels(y_true, outputs)
    scores = np.asarray(outputs.y_score)
    if len(labels) <= 2:
        return skm().brier_score_loss(y_true == labels[-1], scores[:, -1])
    order = _sorted_columns(labels)
    return skm().brier_score_loss(y_true, scores[:, order], labels=np.asarray(labels)[order])


def _rmse(y_true: np.ndarray, outputs: ModelOutputs) -> float:
    return skm().root_mean_squared_error(y_true, outputs.y_pred)


def _mae(y_true: np.ndarray, outputs: ModelOutputs) -> float:
    return skm().mean_absolute_error(y_true, outputs.y_pred)


def _r2(y_true: np.ndarray, outputs: ModelOutputs) -> float:
    return skm().r2_score(y_true, outputs.y_pred) if len(y_true) >= 2 else math.nan


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", "classification", True, False, _accuracy),
        Metric("f1", "classification", True, False, _set_wise(2)),
        Metric("precision", "classification", True, False, _set_wise(0)),
        Metric("recall", "classification", True, False, _set_wise(1)),
        Metric("roc_auc", "classification", True, True, _one_vs_rest(_binary_roc_auc)),
        Metric(
            "average_precision",
            "classification",
            True,
            True,
            _one_vs_rest(_binary_average_precision),
        ),
        Metric("log_loss", "classification", False, True, _log_loss),
        Metric("brier", "classification", False, True, _brier),
        Metric("rmse", "regression", False, False, _rmse),
        Metric("mae", "regression", False, False, _mae),
        Metric("r2", "regression", True, False, _r2),
    )
}

_DEFAULTS = {
    "classification": ("accuracy", "f1", "roc_auc", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ConfigError(f"Unknown task {task!r}. Use one of {', '.join(repr(t) for t in TASKS)}.")


def default_metrics(task: str) -> list[str]:
    """The metrics computed when `shipyard.yaml` lists none."""
    _check_task(task)
    return list(_DEFAULTS[task])


def check_metric_names(task: str, names: Iterable[str], where: str) -> None:
    """Raise `ConfigError` for the first name that is not a metric of `task`, with a suggestion.

    `where` prefixes the message, e.g. ``"shipyard.yaml: metrics"``.
    """
    _check_task(task)
    valid = sorted(name for name, metric in METRICS.items() if metric.task == task)
    for name in names:
        if name in valid:
            continue
        close = difflib.get_close_matches(str(name), valid, n=1)
        if close:
            hint = f" Did you mean '{close[0]}'?"
        elif name in METRICS:
            hint = f" '{name}' is a {METRICS[name].task} metric."
        else:
            hint = ""
        raise ConfigError(
            f"{where}: unknown metric {name!r} for a {task} task.{hint} Valid metrics: {', '.join(valid)}."
        )


def compute_metrics(
    task: str,
    y_true: np.ndarray,
    outputs: ModelOutputs,
    names: Sequence[str] | None = None,
) -> dict[str, float]:
    """Each named metric (the task's defaults when `names` is None); `nan` where undefined."""
    chosen = default_metrics(task) if names is None else list(names)
    check_metric_names(task, chosen, where="compute_metrics")
    y_true = np.asarray(y_true)
    return {name: METRICS[name](y_true, outputs) for name in chosen}
