"""PyTorch modules as scikit-learn estimators, so a user's `train` can return a neural network.

`TorchClassifier` and `TorchRegressor` fit a module built by the user's factory
`module(n_features, n_outputs)` with Adam. A model folder keeps them as JSON (the
parameters, the factory's import path, the fitted attributes) plus the weights
(`state_dict`, read back with `torch.load(weights_only=True)`): nothing is unpickled.
The factory must be a module-level function or class, in the user's code that ships
inside the model or in torch. torch is imported inside methods, so importing
Shipyard never pays for it (~2 s).
"""

from __future__ import annotations

import importlib
import json
import pickle  # only for the error `torch.load(weights_only=True)` raises; nothing is unpickled
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from shipyard.core.params import STRING, Interval, OfType, validate_params
from shipyard.errors import ConfigError, IntegrityError

if TYPE_CHECKING:
    import torch

__all__ = ["TorchClassifier", "TorchRegressor"]

# collections.abc.Callable is a class isinstance accepts; mypy sees only the typing special form.
_CALLABLE = cast(type, Callable)
_CONSTRAINTS: dict[str, list[Any]] = {
    "module": [OfType(_CALLABLE, "a callable (n_features, n_outputs) -> torch.nn.Module")],
    "epochs": [Interval(int, 1, None, closed="left")],
    "lr": [Interval(float, 0, None, closed="neither")],
    "batch_size": [Interval(int, 1, None, closed="left")],
    "weight_decay": [Interval(float, 0, None, closed="left")],
    "seed": [Interval(int, 0, None, closed="left")],
    "device": [STRING],
}
_PREDICT_ROWS = 65_536


class _TorchEstimator(BaseEstimator):
    """Shared fitting, prediction and pickling; subclasses set the targets and the loss."""

    def __init__(
        self,
        module: Callable[[int, int], torch.nn.Module],
        *,
        epochs: int = 20,
        lr: float = 1e-3,
        batch_size: int = 256,
        weight_decay: float = 0.0,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        self.module = module
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.seed = seed
        self.device = device

    def _targets(self, y: Any) -> tuple[np.ndarray, int]:
        """Training targets as an array torch can take, and the number of module outputs."""
        raise NotImplementedError

    def _loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def fit(self, X: Any, y: Any) -> _TorchEstimator:
        """Build the module for X's width and train it for `epochs` passes of shuffled batches."""
        validate_params(type(self).__name__, _CONSTRAINTS, self.get_params(deep=False))
        self._check_factory()
        inputs = self._matrix(X, fitting=True)
        targets, n_outputs = self._targets(y)
        if len(targets) != len(inputs):
            raise ConfigError(
                f"{type(self).__name__}.fit: X has {len(inputs)} rows but y has {len(targets)}. "
                f"Pass one label per row."
            )
        self.n_outputs_ = n_outputs
        self.module_ = self._train(inputs, targets)
        return self

    def _check_factory(self) -> None:
        try:
            _factory_ref(self.module)
        except ValueError as exc:
            raise ConfigError(
                f"The 'module' option of {type(self).__name__} must be a module-level function or "
                f"class, so the fitted model can be saved and loaded. Got {self.module!r}, which "
                f"cannot be imported by name ({exc}). Define the factory at the top level of your "
                "model code."
            ) from None

    def _build(self, n_features: int) -> torch.nn.Module:
        import torch

        built = self.module(n_features, self.n_outputs_)
        if not isinstance(built, torch.nn.Module):
            raise ConfigError(
                f"The 'module' factory of {type(self).__name__} must return a torch.nn.Module. "
                f"module({n_features}, {self.n_outputs_}) returned {type(built).__name__} instead."
            )
        return built

    def _torch_device(self) -> torch.device:
        import torch

        try:
            device = torch.device(self.device)
        except RuntimeError as exc:
            raise ConfigError(
                f"The 'device' option of {type(self).__name__} must name a torch device such as "
                f"'cpu' or 'cuda'. Got {self.device!r} instead."
            ) from exc
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(
                f"The 'device' option of {type(self).__name__} is {self.device!r}, but "
                f"torch.cuda.is_available() is False. Use device='cpu' or install a CUDA build "
                f"of torch."
            )
        return device

    def _train(self, inputs: np.ndarray, targets: np.ndarray) -> torch.nn.Module:
        """Train on `device` under a forked RNG (the global torch RNG is left as it was)."""
        import torch

        device = self._torch_device()
        cuda = []
        if device.type == "cuda":
            cuda = [torch.cuda.current_device() if device.index is None else device.index]
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(self.seed)
            module = self._build(inputs.shape[1]).to(device)
            optimizer = torch.optim.Adam(module.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            shuffle = torch.Generator().manual_seed(self.seed)
            X, y = torch.from_numpy(inputs).to(device), torch.from_numpy(targets).to(device)
            module.train()
            for _ in range(self.epochs):
                order = torch.randperm(len(X), generator=shuffle).to(device)
                for batch in order.split(self.batch_size):
                    optimizer.zero_grad()
                    self._loss(self._checked(module(X[batch]), len(batch)), y[batch]).backward()
                    optimizer.step()
        return module.cpu().eval()

    def _checked(self, output: torch.Tensor, rows: int) -> torch.Tensor:
        if tuple(output.shape) != (rows, self.n_outputs_):
            raise ConfigError(
                f"The module built by the 'module' factory of {type(self).__name__} returned shape "
                f"{tuple(output.shape)} for {rows} rows; expected ({rows}, {self.n_outputs_}). "
                f"Make its last layer output n_outputs values per row."
            )
        return output

    def _forward(self, X: Any) -> np.ndarray:
        """The module's outputs for X, as float64, computed on CPU in large batches."""
        import torch

        check_is_fitted(self, "module_")
        inputs = torch.from_numpy(self._matrix(X, fitting=False))
        with torch.inference_mode():
            parts = [self.module_(part) for part in inputs.split(_PREDICT_ROWS)]
            out = torch.cat(parts) if parts else torch.empty(0, self.n_outputs_)
        return out.double().numpy()

    def _matrix(self, X: Any, *, fitting: bool) -> np.ndarray:
        """X as a finite float32 matrix; at fit, remember its width and column names."""
        owner = type(self).__name__
        names = list(X.columns) if isinstance(X, pd.DataFrame) else None
        if names is not None:
            text = [c for c in names if not _numeric(X[c])]
            if text:
                raise ConfigError(
                    f"{owner} needs numeric features; column {text[0]!r} has dtype "
                    f"{X[text[0]].dtype}. Encode it as numbers in your features function "
                    f"(e.g. one-hot or ordinal codes)."
                )
        try:
            data = (
                X.to_numpy(dtype=np.float32, na_value=np.nan)
                if names is not None
                else np.asarray(X, dtype=np.float32)
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{owner} needs numeric features: {exc}.") from exc
        if data.ndim != 2:
            raise ConfigError(f"{owner} needs a 2-D X (rows x features). Got shape {data.shape}.")
        bad = ~np.isfinite(data)
        if bad.any():
            column = int(bad.any(axis=0).argmax())
            label = repr(names[column]) if names is not None else str(column)
            raise ConfigError(
                f"{owner}: feature {label} has {int(bad[:, column].sum())} missing or infinite "
                f"values. Impute or drop them in your features function."
            )
        if fitting:
            self.n_features_in_ = data.shape[1]
            self.__dict__.pop("feature_names_in_", None)
            if names is not None and all(isinstance(c, str) for c in names):
                self.feature_names_in_ = np.asarray(names, dtype=object)
        else:
            self._check_columns(data.shape[1], names)
        return _writable(data)

    def _check_columns(self, width: int, names: list | None) -> None:
        owner = type(self).__name__
        if width != self.n_features_in_:
            raise ConfigError(
                f"X has {width} features, but {owner} was fitted with {self.n_features_in_}. "
                f"Pass the columns the model was trained on."
            )
        fitted = getattr(self, "feature_names_in_", None)
        if names is not None and fitted is not None and list(fitted) != names:
            raise ConfigError(
                f"X has columns {names}, but {owner} was fitted with {list(fitted)}. "
                f"Pass the same columns in the same order."
            )

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the factory and the weights; the module is rebuilt from them on load."""
        state = dict(super().__getstate__())  # a copy: the live __dict__ must keep module_
        module = state.pop("module_", None)
        if module is not None:
            state["_state_dict"] = {k: v.detach().cpu() for k, v in module.state_dict().items()}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        import torch

        weights = state.pop("_state_dict", None)
        super().__setstate__(state)
        if weights is not None:
            with torch.random.fork_rng(devices=[]):
                module = self._build(self.n_features_in_)
            module.load_state_dict(weights)
            self.module_ = module.eval()


_PARAMS_FILE = "estimator.json"
_WEIGHTS_FILE = "weights.pt"
_FITTED = ("n_features_in_", "n_outputs_", "classes_", "feature_names_in_", "_y_1d")


def _factory_ref(factory: Callable) -> str:
    """`module:qualname` that imports back to `factory`; ValueError when there is none."""
    module, qualname = getattr(factory, "__module__", None), getattr(factory, "__qualname__", "")
    if not module or not qualname or "<" in qualname:
        raise ValueError("it is not defined at the top level of a module")
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part, None)
    if target is not factory:
        raise ValueError(f"{module}.{qualname} names another object")
    return f"{module}:{qualname}"


def save_torch(estimator: _TorchEstimator, folder: Path) -> None:
    """Write a fitted estimator as `estimator.json` (parameters, factory, fitted attributes)
    and `weights.pt` (its `state_dict`)."""
    import torch

    check_is_fitted(estimator, "module_")
    params = estimator.get_params(deep=False)
    fitted = {k: getattr(estimator, k) for k in _FITTED if hasattr(estimator, k)}
    document = {
        "class": type(estimator).__name__,
        "factory": _factory_ref(params.pop("module")),
        "params": params,
        "fitted": {k: np.asarray(v).tolist() if isinstance(v, np.ndarray) else v for k, v in fitted.items()},
    }
    (folder / _PARAMS_FILE).write_text(json.dumps(document, indent=2, sort_keys=True))
    weights = {k: v.detach().cpu().contiguous() for k, v in estimator.module_.state_dict().items()}
    torch.save(weights, folder / _WEIGHTS_FILE)


def load_torch(folder: Path, *, code_modules: frozenset[str]) -> _TorchEstimator:
    """Rebuild an estimator written by `save_torch`. The factory is imported only from the
    model's shipped code (`code_modules`, top-level names) or torch; weights load as tensors only."""
    import torch

    document = json.loads((folder / _PARAMS_FILE).read_text())
    classes = {c.__name__: c for c in (TorchClassifier, TorchRegressor)}
    cls = classes.get(document.get("class"))
    module_name, _, qualname = str(document.get("factory", "")).partition(":")
    top = module_name.partition(".")[0]
    if cls is None or not qualname or (top not in code_modules and top != "torch"):
        raise IntegrityError(
            f"The torch model in {folder} names class {document.get('class')!r} and factory "
            f"{document.get('factory')!r}; a factory must come from the code shipped in the model "
            "or from torch. Refusing to load it."
        )
    try:
        factory: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            factory = getattr(factory, part)
        estimator = cls(factory, **document.get("params", {}))
    except (ImportError, AttributeError, TypeError) as exc:
        raise IntegrityError(
            f"The torch model in {folder} cannot be rebuilt from its factory "
            f"{document.get('factory')!r} ({type(exc).__name__}: {exc}); refusing to load it."
        ) from None
    fitted = {k: v for k, v in document.get("fitted", {}).items() if k in _FITTED}
    for key, value in fitted.items():
        kind = object if key == "feature_names_in_" else None
        setattr(estimator, key, np.asarray(value, dtype=kind) if isinstance(value, list) else value)
    try:
        weights = torch.load(folder / _WEIGHTS_FILE, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        raise IntegrityError(
            f"The weights file {folder / _WEIGHTS_FILE} holds more than tensors or is damaged "
            f"({type(exc).__name__}); refusing to load it. Retrain the model."
        ) from None
    with torch.random.fork_rng(devices=[]):
        module = estimator._build(estimator.n_features_in_)
    module.load_state_dict(weights)
    estimator.module_ = module.eval()
    return estimator


def _writable(data: np.ndarray) -> np.ndarray:
    """A C-contiguous array torch can wrap without copying (pandas hands out read-only views)."""
    return np.require(data, requirements=["C", "W"])


def _numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


class TorchClassifier(ClassifierMixin, _TorchEstimator):
    """A PyTorch module trained with cross-entropy, with scikit-learn's classifier API.

    `module(n_features, n_classes)` builds a module that maps a float32 batch of
    shape (rows, n_features) to logits of shape (rows, n_classes). Training is
    seeded by `seed` and deterministic on CPU. A fitted model keeps its module on
    CPU, so it pickles (joblib) and loads on machines without a GPU.

    Examples
    --------
    In your model code, a module-level factory (a function, or a module class such
    as `torch.nn.Linear` for logistic regression) and a `train` returning the model:

        def mlp(n_features, n_outputs):
            return torch.nn.Sequential(
                torch.nn.Linear(n_features, 32), torch.nn.ReLU(), torch.nn.Linear(32, n_outputs)
            )

        def train(X, y, params):
            return TorchClassifier(mlp, epochs=params.get("epochs", 20)).fit(X, y)

    >>> import numpy as np, torch
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> y = np.where(X[:, 0] > 0, "yes", "no")
    >>> clf = TorchClassifier(torch.nn.Linear, epochs=30, lr=0.05).fit(X, y)
    >>> clf.classes_.tolist(), clf.predict_proba(X[:3]).shape
    (['no', 'yes'], (3, 2))
    >>> float((clf.predict(X) == y).mean()) > 0.9
    True
    """

    def _targets(self, y: Any) -> tuple[np.ndarray, int]:
        labels = np.asarray(y)
        if labels.ndim != 1 or pd.isna(labels).any():
            raise ConfigError(
                f"{type(self).__name__} needs y as one label per row without missing values. "
                f"Got shape {labels.shape} with {int(pd.isna(labels).sum())} missing."
            )
        self.classes_, codes = np.unique(labels, return_inverse=True)
        if len(self.classes_) < 2:
            raise ConfigError(
                f"{type(self).__name__} needs at least 2 classes in y. Got only {self.classes_.tolist()}."
            )
        return codes.astype(np.int64), len(self.classes_)

    def _loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.nn.functional.cross_entropy(output, target)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per entry of `classes_`."""
        logits = self._forward(X)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        return self.classes_[self._forward(X).argmax(axis=1)]


class TorchRegressor(RegressorMixin, _TorchEstimator):
    """A PyTorch module trained with mean squared error, with scikit-learn's regressor API.

    `module(n_features, n_outputs)` gets n_outputs = 1 for a 1-D y (predictions
    are then 1-D) and y's width for a 2-D y. Otherwise as `TorchClassifier`.
    """

    def _targets(self, y: Any) -> tuple[np.ndarray, int]:
        values = np.asarray(y, dtype=np.float32)
        if values.ndim not in (1, 2) or not np.isfinite(values).all():
            raise ConfigError(
                f"{type(self).__name__} needs y as finite numbers, 1-D or 2-D. Got shape "
                f"{values.shape} with {int((~np.isfinite(values)).sum())} missing or infinite."
            )
        self._y_1d = values.ndim == 1
        matrix = values.reshape(len(values), -1)
        return _writable(matrix), matrix.shape[1]

    def _loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.nn.functional.mse_loss(output, target)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted values: shape (rows,) for a 1-D training y, else (rows, n_outputs)."""
        out = self._forward(X)
        return out[:, 0] if self._y_1d else out
