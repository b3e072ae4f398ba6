"""Call the user's code, name the user's own frame when it fails, and check what `train` returns."""

from __future__ import annotations

import logging
import os
import random
import sys
import sysconfig
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shipyard.core.tasks import TASKS
from shipyard.errors import ConfigError, StageError

_SHIPYARD_DIR = str(Path(__file__).resolve().parents[1])
_log = logging.getLogger(__name__)


def call_user(fn: Callable, *args: Any, stage: str, **kwargs: Any) -> Any:
    """Call `fn(*args, **kwargs)`; turn any exception into a `StageError` naming the user's frame.

    The message ends with the innermost frame in the user's own files (not Shipyard's,
    the standard library's or an installed package's), e.g.
    `Stage 'train' failed in your code: ValueError: boom (fraud_model/train.py:12 in train)`.
    """
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # whatever the user's code raises is reported, not swallowed
        tb = exc.__traceback__.tb_next if exc.__traceback__ else None
        frames = traceback.extract_tb(tb)
        libraries = _library_dirs()
        user = [f for f in frames if _is_user_file(f.filename, libraries)]
        where = ""
        if user:
            frame = user[-1]
            where = f" ({_display_path(frame.filename)}:{frame.lineno} in {frame.name})"
        message = f"Stage {stage!r} failed in your code: {type(exc).__name__}: {exc}{where}"
        formatted = "".join(traceback.format_exception(type(exc), exc, tb))
        raise StageError(message, stage=stage, user_code=True, traceback=formatted) from exc


def _library_dirs() -> tuple[str, ...]:
    """Shipyard's own folder, the standard library and every site-packages folder."""
    paths = sysconfig.get_paths()
    names = ("stdlib", "platstdlib", "purelib", "platlib")
    found = {os.path.realpath(paths[n]) for n in names if n in paths}
    packages = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    found.update(os.path.realpath(p) for p in packages)
    return (_SHIPYARD_DIR, *sorted(found))


def _is_user_file(filename: str, libraries: tuple[str, ...]) -> bool:
    if filename.startswith("<"):
        return False
    path = os.path.realpath(filename)
    return not any(path == d or path.startswith(d + os.sep) for d in libraries)


def _display_path(filename: str) -> str:
    """The path relative to the `sys.path` entry it was imported from (the project folder)."""
    path = Path(os.path.realpath(filename))
    bases = [Path(os.path.realpath(p)) for p in sys.path if p]
    relative = [path.relative_to(b) for b in bases if path.is_relative_to(b)]
    return str(min(relative, key=lambda r: len(r.parts))) if relative else str(path)


def fit(train_fn: Callable, X: pd.DataFrame, y: pd.Series, params: dict, *, seed: int, task: str) -> object:
    """Seed the global generators, call `train_fn(X, y, params)` and check it returned an estimator.

    Raises `StageError` when the user's code raises, `ConfigError` when it returns
    something that cannot predict (or an unfitted classifier).
    """
    if task not in TASKS:
        raise ConfigError(f"The task must be one of {list(TASKS)}. Got {task!r} instead.")
    _seed_everything(seed)
    estimator = call_user(train_fn, X, y, dict(params), stage="train")
    name = type(estimator).__name__
    if not callable(getattr(estimator, "predict", None)):
        raise ConfigError(
            f"entrypoints.train returned {name}, not a fitted estimator: it must return an "
            f"object with predict(X) (e.g. a fitted scikit-learn estimator)."
        )
    _check_fitted(estimator, name)
    if task == "classification":
        if not hasattr(estimator, "classes_"):
            raise ConfigError(
                f"entrypoints.train returned a {name} without 'classes_': for task "
                f"'classification' it must return a fitted classifier. Call .fit(X, y) on it "
                f"before returning it, or set task: regression in shipyard.yaml."
            )
        if not callable(getattr(estimator, "predict_proba", None)):
            _log.warning(
                "entrypoints.train returned a %s without predict_proba: predictions work, but "
                "scores are None, so score metrics (roc_auc, log_loss) and calibration cannot be "
                "computed.",
                name,
            )
    return estimator


def _check_fitted(estimator: object, name: str) -> None:
    """A scikit-learn estimator (or one declaring `__sklearn_is_fitted__`) must be fitted."""
    from sklearn.base import BaseEstimator
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    if not (isinstance(estimator, BaseEstimator) or hasattr(estimator, "__sklearn_is_fitted__")):
        return
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise ConfigError(
            f"entrypoints.train returned an unfitted {name}: call .fit(X, y) on it before returning it."
        ) from None


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


def apply_features(
    fn: Callable, inputs: pd.DataFrame, *, name: str = "the features function"
) -> pd.DataFrame:
    """Run the user's features on raw rows: one output row per input row, in the same order.

    A broken contract is a usage error (`ConfigError`, exit 2), like `train` returning a
    non-estimator: labels are matched to feature rows by position, so a dropped, added or
    reordered row would silently pair features with the wrong labels.
    """
    out = call_user(fn, inputs, stage="features")
    if not isinstance(out, pd.DataFrame) or len(out) != len(inputs):
        got = f"{len(out)} rows" if isinstance(out, pd.DataFrame) else type(out).__name__
        raise ConfigError(
            f"Stage 'features': {name} must return a pandas DataFrame with one row per input "
            f"row ({len(inputs)}), got {got}. Filter rows in the data loader, not in features."
        )
    if not out.index.equals(inputs.index) and out.index.sort_values().equals(inputs.index.sort_values()):
        raise ConfigError(
            f"Stage 'features': {name} returned the input rows in another order (e.g. after "
            "sort_values or merge). Keep the input order (reindex the result like the input, "
            "e.g. `out.loc[df.index]`): labels are matched to feature rows by position."
        )
    return out
