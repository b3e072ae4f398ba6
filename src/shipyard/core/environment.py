"""The environment a model was built in: a fingerprint to record, compare and key caches on.

Standard library only. CUDA is probed only when the model uses torch (listed in
the packages) or torch is already imported: importing torch takes seconds.
"""

from __future__ import annotations

import functools
import importlib.metadata as metadata
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASE_PACKAGES = ("cloudpickle", "joblib", "numpy", "pandas", "scikit-learn")
RUNTIME_PACKAGES = ("numpy", "pandas", "scikit-learn", "shipyard")
_NESTED_ATTRIBUTES = (
    "steps",
    "transformers",
    "transformers_",
    "transformer_list",
    "estimator",
    "estimator_",
    "base_estimator",
    "estimators",
    "estimators_",
    "final_estimator",
    "final_estimator_",
)
_KNOWN_DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "numpy": "numpy",
    "pandas": "pandas",
    "scipy": "scipy",
    "joblib": "joblib",
    "cloudpickle": "cloudpickle",
}
_GIT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Mismatch:
    """One difference between a recorded fingerprint and the current environment."""

    field: str
    recorded: Any
    current: Any

    def __str__(self) -> str:
        return f"{self.field}: recorded {self.recorded}, current {self.current}"


def canonical_name(name: str) -> str:
    """A distribution name in PEP 503 form: `Scikit_Learn` -> `scikit-learn`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def package_version(name: str) -> str | None:
    """The installed version of a distribution, or None when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def capture_fingerprint(packages: Iterable[str]) -> dict[str, Any]:
    """Python, platform, hardware, the versions of `packages`, and CUDA where torch is in play."""
    names = sorted({canonical_name(p) for p in packages})
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "packages": {name: package_version(name) for name in names},
        "cuda": _cuda("torch" in names),
    }


def _cuda(uses_torch: bool) -> dict[str, Any]:
    if not uses_torch and "torch" not in sys.modules:
        return {"available": False, "checked": False}
    try:
        import torch
    except ImportError:
        return {"available": False, "checked": False}
    available = bool(torch.cuda.is_available())
    devices = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return {
        "available": available,
        "checked": True,
        "version": torch.version.cuda,
        "devices": devices if available else [],
    }


def model_packages(estimator: object) -> list[str]:
    """Distributions a fitted model needs to load: the base stack plus those of its classes.

    Walks nested estimators (Pipeline steps, ColumnTransformer transformers,
    `estimator`/`estimators_`, and any attribute holding an object with `fit`,
    `predict`, `transform` or `forward`) and maps the module of every class in
    their MRO to its distribution, e.g. `xgboost.sklearn.XGBClassifier` -> `xgboost`,
    and a user's subclass of `torch.nn.Module` -> `torch`.
    """
    classes = {cls for obj in _walk(estimator) for cls in type(obj).__mro__}
    tops = {cls.__module__.partition(".")[0] for cls in classes}
    found = set(BASE_PACKAGES)
    for top in tops - set(sys.stdlib_module_names) - {"builtins", "__main__"}:
        if top in _KNOWN_DISTRIBUTIONS:
            found.add(_KNOWN_DISTRIBUTIONS[top])
        else:
            found.update(canonical_name(d) for d in _all_distributions().get(top, ()))
    return sorted(found)


@functools.cache
def _all_distributions() -> dict[str, tuple[str, ...]]:
    """Top-level module -> distributions; a scan of every installed one (~0.3 s), done once."""
    return {k: tuple(v) for k, v in metadata.packages_distributions().items()}


def _walk(root: object) -> list[object]:
    """`root` and every model-like object nested in it, each once."""
    seen: set[int] = set()
    stack, out = [root], []
    while stack:
        obj = stack.pop()
        if id(obj) in seen or not _looks_like_model(obj):
            continue
        seen.add(id(obj))
        out.append(obj)
        stack.extend(_flatten(getattr(obj, name, None) for name in _NESTED_ATTRIBUTES))
        stack.extend(v for v in getattr(obj, "__dict__", {}).values() if _looks_like_model(v))
    return out


def _looks_like_model(obj: object) -> bool:
    if isinstance(obj, type):
        return False
    return any(callable(getattr(obj, m, None)) for m in ("fit", "predict", "transform", "forward"))


def _flatten(items: Iterable[Any]) -> list[Any]:
    """Items of nested lists, tuples and object arrays (e.g. `(name, estimator, columns)`)."""
    flat: list[Any] = []
    for item in items:
        object_array = getattr(getattr(item, "dtype", None), "kind", "") == "O"
        nested = isinstance(item, list | tuple) or (object_array and getattr(item, "ndim", 0) > 0)
        flat.extend(_flatten(item) if nested else [item])
    return flat


def compare_fingerprints(recorded: dict[str, Any], current: dict[str, Any]) -> list[Mismatch]:
    """Differences that can change predictions or stop a model from loading.

    Compares Python major.minor, the machine architecture, every recorded
    package version, and CUDA availability when it was checked at record time.
    """
    mismatches = []
    old_py, new_py = _minor(recorded.get("python")), _minor(current.get("python"))
    if old_py != new_py:
        mismatches.append(Mismatch("python", old_py, new_py))
    if recorded.get("machine") != current.get("machine"):
        mismatches.append(Mismatch("machine", recorded.get("machine"), current.get("machine")))
    now = current.get("packages", {})
    for name, version in sorted(recorded.get("packages", {}).items()):
        if now.get(name) != version:
            mismatches.append(Mismatch(f"packages.{name}", version, now.get(name)))
    old_cuda, new_cuda = recorded.get("cuda", {}), current.get("cuda", {})
    if old_cuda.get("checked") and old_cuda.get("available") != new_cuda.get("available", False):
        mismatches.append(
            Mismatch("cuda.available", old_cuda.get("available"), new_cuda.get("available", False))
        )
    return mismatches


def _minor(version: str | None) -> str | None:
    return ".".join(version.split(".")[:2]) if version else None


def runtime_key() -> dict[str, Any]:
    """The part of the environment that goes into pipeline cache keys."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return {"python": python, **{name: package_version(name) for name in RUNTIME_PACKAGES}}


def git_state(root: Path) -> dict[str, Any]:
    """Commit, dirtiness (tracked files only, as `git describe --dirty`) and branch of `root`.

    A folder outside any repository, a missing `git` or a slow one gives Nones.
    """
    unknown: dict[str, Any] = {"commit": None, "dirty": None, "branch": None}
    command = ["git", "-C", str(root), "status", "--porcelain=v2", "--branch", "-uno"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return unknown
    if done.returncode != 0:
        return unknown
    headers = {}
    changes = False
    for line in done.stdout.splitlines():
        if line.startswith("# "):
            key, _, value = line[2:].partition(" ")
            headers[key] = value
        elif line:
            changes = True
    commit = headers.get("branch.oid")
    branch = headers.get("branch.head")
    return {
        "commit": None if commit in (None, "(initial)") else commit,
        "dirty": changes,
        "branch": None if branch in (None, "(detached)") else branch,
    }
