"""How a fitted estimator is written into a model folder and read back without running its files.

- `skops` (the default): scikit-learn-compatible estimators and LightGBM. Loading builds
  only the types in the trusted list: Shipyard's defaults plus `model_format.trusted_types`
  from shipyard.yaml, never a list read from the model's own files (MLflow's advisory
  GHSA-w582-9x45-8mpx came from exactly that).
- `torch`: `TorchClassifier`/`TorchRegressor` as JSON (parameters, the module factory's
  import path into the shipped code) plus weights read with `torch.load(weights_only=True)`.
- `pickle` (joblib): only with `model_format.allow_pickle: true`, for saving and for loading.

A model folder written before formats existed (`artifacts/estimator.joblib`, no `format`
in `shipyard.json`) counts as pickle, so it is refused unless pickle is allowed.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.errors import ConfigError, IntegrityError

if TYPE_CHECKING:
    from shipyard.config.policy import Policy

SKOPS = "skops"
TORCH = "torch"
PICKLE = "pickle"
FORMATS = (SKOPS, TORCH, PICKLE)

_SKOPS_FILE = "estimator.skops"
_PICKLE_FILE = "estimator.joblib"

# Types beyond skops' own defaults that common estimators need: tree structures of
# scikit-learn's ensembles, and LightGBM's scikit-learn wrappers with their booster.
DEFAULT_TRUSTED_TYPES = (
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRanker",
    "lightgbm.sklearn.LGBMRegressor",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
    "xgboost.sklearn.XGBRegressor",
)

_TRUST_HINT = (
    "If these are your own classes or a library you trust, list them under "
    "'model_format: {trusted_types: [...]}' in shipyard.yaml"
)


@dataclass(frozen=True)
class ModelTrust:
    """What a loader may build: the extra trusted types and whether pickle is allowed at all."""

    trusted_types: tuple[str, ...] = ()
    allow_pickle: bool = False

    @classmethod
    def of(cls, policy: Policy) -> ModelTrust:
        """The trust shipyard.yaml's `model_format` section grants."""
        section = policy.model_format
        return cls(tuple(section.trusted_types), section.allow_pickle)

    @property
    def trusted(self) -> list[str]:
        return sorted({*DEFAULT_TRUSTED_TYPES, *self.trusted_types})


def save_estimator(estimator: Any, folder: Path, trust: ModelTrust) -> str:
    """Write `estimator` into the new folder `folder` and return the format used."""
    folder.mkdir(parents=True)
    if _is_torch(estimator):
        from shipyard.training.torch import save_torch

        save_torch(estimator, folder)
        return TORCH
    import skops.io as sio

    try:
        data = sio.dumps(estimator)
    except Exception as exc:  # skops raises many types for objects it cannot represent
        if trust.allow_pickle:
            return _save_pickle(estimator, folder)
        raise ConfigError(
            f"The fitted {type(estimator).__name__} cannot be saved in the safe skops format "
            f"({type(exc).__name__}: {exc}). Return a scikit-learn-compatible estimator, or set "
            "'model_format: {allow_pickle: true}' in shipyard.yaml to save it with pickle "
            "(loading a pickle can run any code: only for models from a trusted source)."
        ) from exc
    untrusted = [t for t in sio.get_untrusted_types(data=data) if t not in trust.trusted]
    if untrusted:
        if trust.allow_pickle:
            return _save_pickle(estimator, folder)
        raise ConfigError(
            f"The fitted {type(estimator).__name__} contains types Shipyard does not trust to "
            f"load: {', '.join(untrusted)}. {_TRUST_HINT} and run again."
        )
    (folder / _SKOPS_FILE).write_bytes(data)
    return SKOPS


def _save_pickle(estimator: Any, folder: Path) -> str:
    import joblib

    joblib.dump(estimator, folder / _PICKLE_FILE)
    return PICKLE


def load_estimator(folder: Path, fmt: str, trust: ModelTrust, *, code_modules: frozenset[str]) -> Any:
    """Read the estimator written by `save_estimator`; nothing in `folder` decides what runs.

    `code_modules` are the top-level modules shipped in the model's `code/` folder: a torch
    module factory must live in one of them (or in torch itself).
    """
    if fmt == SKOPS:
        return _load_skops(folder / _SKOPS_FILE, trust)
    if fmt == TORCH:
        from shipyard.training.torch import load_torch

        return load_torch(folder, code_modules=code_modules)
    if fmt == PICKLE:
        if not trust.allow_pickle:
            raise ConfigError(
                f"The model in {folder.parent.parent} was saved with pickle, and loading a pickle "
                "can run any code; refusing to load it. Retrain it with this Shipyard version "
                "(saved with skops), or, only if you trust where it came from, set "
                "'model_format: {allow_pickle: true}' in shipyard.yaml."
            )
        import joblib

        return joblib.load(folder / _PICKLE_FILE)
    raise IntegrityError(
        f"The model in {folder.parent.parent} names an unknown format {fmt!r} (expected one of "
        f"{', '.join(FORMATS)}); refusing to load it."
    )


def _load_skops(file: Path, trust: ModelTrust) -> Any:
    import skops.io as sio

    try:
        untrusted = [t for t in sio.get_untrusted_types(file=file) if t not in trust.trusted]
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise IntegrityError(
            f"The model file {file} is not a readable skops file ({type(exc).__name__}); "
            "refusing to load it. Retrain the model."
        ) from None
    if untrusted:
        raise ConfigError(
            f"The model file {file} contains types Shipyard does not trust: "
            f"{', '.join(untrusted)}; refusing to load it. {_TRUST_HINT}."
        )
    return sio.load(file, trusted=trust.trusted)


def _is_torch(estimator: Any) -> bool:
    import sys

    module = sys.modules.get("shipyard.training.torch")
    return module is not None and isinstance(estimator, module._TorchEstimator)
