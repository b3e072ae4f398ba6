"""Save a `Servable` as an MLflow pyfunc model folder that carries the user's feature code.

Layout of a model folder (MLflow's, plus `shipyard.json`):

    MLmodel, requirements.txt, ...   written by MLflow (the pyfunc is saved as code, no pickle)
    artifacts/estimator/             the fitted estimator in a safe format (see `formats`)
    code/<package or module>         the user's code (features, custom classes), as source
    shipyard.json                    format, task, target, classes, features_ref,
                                     environment fingerprint

`load_servable` reads it without MLflow (fast, used by evaluation and smoke);
`load_pyfunc` loads it through MLflow. Both run the same `Servable`, and both build
only what the caller's `ModelTrust` (from shipyard.yaml) allows.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import pandas as pd

from shipyard.core.environment import package_version
from shipyard.errors import ConfigError
from shipyard.training._servable import Servable
from shipyard.training.entrypoints import load_entrypoint, use_import_root
from shipyard.training.formats import PICKLE, ModelTrust, load_estimator, save_estimator

__all__ = ["ESTIMATOR_ARTIFACT", "ModelTrust", "Servable", "load_pyfunc", "load_servable", "package_model"]

ESTIMATOR_ARTIFACT = "estimator"
METADATA_FILE = "shipyard.json"
# The trust of the `load_pyfunc` call in progress: MLflow builds the pyfunc, which cannot take
# arguments, and a trust list must never come from the model's own files (MLmodel included).
_PYFUNC_TRUST: ContextVar[ModelTrust | None] = ContextVar("shipyard_pyfunc_trust", default=None)


def package_model(
    servable: Servable,
    *,
    out_dir: Path,
    project_root: Path,
    features_ref: str | None,
    code_files: Sequence[Path],
    input_example: pd.DataFrame,
    fingerprint: dict,
    trust: ModelTrust | None = None,
) -> Path:
    """Write `servable` as an MLflow pyfunc model folder at `out_dir` and return it.

    The estimator is saved with skops (or the torch format); with pickle only when
    `trust.allow_pickle` and skops cannot represent it (see `formats.save_estimator`).

    `code_files` (from `source_files`) under `project_root` ship in the model as
    their top-level packages or modules; files outside it belong to installed
    distributions. Requirements are pinned from `fingerprint["packages"]`, never
    inferred (MLflow's inference costs seconds).
    """
    import mlflow.pyfunc
    from mlflow.models import infer_signature

    from shipyard.training._signature import mlflow_example

    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ConfigError(
            f"package_model: the output folder {out_dir} already exists and is not empty. "
            f"Remove it or choose another out_dir."
        )
    if (servable.features is None) != (features_ref is None):
        raise ConfigError(
            f"package_model: features_ref is {features_ref!r} but the servable "
            f"{'has no' if servable.features is None else 'has a'} features function. "
            f"Pass the reference the features function was loaded from (or None for both)."
        )
    example = input_example.drop(columns=[servable.target], errors="ignore")
    with warnings.catch_warnings():
        # MLflow's hint that integer columns cannot hold missing values: the signature follows
        # the training data's own dtypes, which is what the features function was written for.
        warnings.filterwarnings("ignore", "Hint: Inferred schema contains integer", UserWarning)
        signature = infer_signature(mlflow_example(example), servable.predict_frame(example))
    with tempfile.TemporaryDirectory() as tmp:
        estimator_dir = Path(tmp) / ESTIMATOR_ARTIFACT
        fmt = save_estimator(servable.estimator, estimator_dir, trust or ModelTrust())
        mlflow.pyfunc.save_model(
            path=str(out_dir),
            python_model=str(Path(__file__).with_name("_mlflow_model.py")),
            artifacts={ESTIMATOR_ARTIFACT: str(estimator_dir)},
            code_paths=[str(p) for p in code_paths(code_files, project_root)] or None,
            pip_requirements=pip_requirements(fingerprint),
            signature=signature,
            input_example=mlflow_example(example),
        )
    metadata = {
        "format": fmt,
        "task": servable.task,
        "target": servable.target,
        "classes": [_plain(c) for c in servable.classes],
        "features_ref": features_ref,
        "fingerprint": fingerprint,
    }
    text = json.dumps(metadata, indent=2, sort_keys=True, default=str)
    (out_dir / METADATA_FILE).write_text(text)
    return out_dir


def code_paths(code_files: Sequence[Path], project_root: Path) -> list[Path]:
    """The top-level packages and single modules under `project_root` holding `code_files`."""
    root = Path(project_root).resolve()
    tops = set()
    for file in code_files:
        path = Path(file).resolve()
        if path.is_relative_to(root):
            tops.add(root / path.relative_to(root).parts[0])
    return sorted(tops)


def pip_requirements(fingerprint: dict[str, Any]) -> list[str]:
    """`name==version` for every recorded package, and Shipyard itself (the pyfunc imports it)."""
    pins = {name: v for name, v in fingerprint.get("packages", {}).items() if v}
    pins.setdefault("shipyard", package_version("shipyard"))
    # A local version label (torch's `+cpu`) names a build no public index serves.
    return [f"{name}=={version.split('+')[0]}" for name, version in sorted(pins.items()) if version]


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value JSON can hold."""
    return value.item() if hasattr(value, "item") and callable(value.item) else value


def load_servable(model_dir: Path, trust: ModelTrust | None = None) -> Servable:
    """Load a model folder without MLflow: the estimator, and features from the shipped code.

    `trust` (default: Shipyard's trusted types, no pickle) decides what may be built; a
    model saved with pickle, or naming a type outside it, is refused before anything runs.
    """
    model_dir = Path(model_dir).resolve()
    metadata_file = model_dir / METADATA_FILE
    if not metadata_file.is_file():
        raise ConfigError(
            f"{model_dir} is not a Shipyard model folder: {METADATA_FILE} is missing. "
            f"Point at a folder written by package_model (e.g. .shipyard/.../train/model)."
        )
    metadata = json.loads(metadata_file.read_text())
    code = model_dir / "code"
    root = code if code.is_dir() else model_dir
    shipped = frozenset(p.stem for p in code.iterdir()) if code.is_dir() else frozenset()
    if code.is_dir():
        use_import_root(code, shipped)
    # A folder from before formats were recorded holds `artifacts/estimator.joblib`: a pickle.
    fmt = str(metadata.get("format", PICKLE))
    folder = model_dir / "artifacts" / ESTIMATOR_ARTIFACT
    folder = folder if folder.is_dir() else folder.parent
    estimator = load_estimator(folder, fmt, trust or ModelTrust(), code_modules=shipped)
    ref = metadata.get("features_ref")
    features = load_entrypoint(ref, root, key="features_ref", source=str(metadata_file)) if ref else None
    return Servable(estimator=estimator, features=features, task=metadata["task"], target=metadata["target"])


def load_pyfunc(model_dir: Path, trust: ModelTrust | None = None) -> Any:
    """Load a model folder through MLflow (`mlflow.pyfunc.load_model`), as a server would."""
    import mlflow.pyfunc

    with _pyfunc_trust(trust or ModelTrust()):
        return mlflow.pyfunc.load_model(str(model_dir))


@contextmanager
def _pyfunc_trust(trust: ModelTrust) -> Iterator[None]:
    token = _PYFUNC_TRUST.set(trust)
    try:
        yield
    finally:
        _PYFUNC_TRUST.reset(token)


def pyfunc_trust() -> ModelTrust:
    """The trust of the `load_pyfunc` call in progress (Shipyard's defaults outside one)."""
    return _PYFUNC_TRUST.get() or ModelTrust()
