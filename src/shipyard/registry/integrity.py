"""A sha256 manifest of every file of a model, recorded at registration and checked on load.

The manifest lives in the registry database, apart from the artifact store, so a
model file changed in the artifact store (or in a local cache) after registration
is caught before anything unpickles it.
"""

from __future__ import annotations

import os
from pathlib import Path

from shipyard.core.hashing import digest_file
from shipyard.errors import ConfigError, IntegrityError

_REFUSAL = "The artifact was modified after registration; refusing to load it."


def _short(digest: str) -> str:
    return f"{digest[:12]}…"


def build_manifest(model_dir: Path) -> dict[str, str]:
    """Map each file's path relative to `model_dir` (posix form) to its sha256, sorted by path.

    Symbolic links are followed, as MLflow does when it copies the folder to the
    artifact store.
    """
    root = Path(model_dir)
    if not root.is_dir():
        raise ConfigError(
            f"The model directory {root} does not exist or is not a directory. "
            "Pass the folder that holds the model's MLmodel file."
        )
    manifest: dict[str, str] = {}
    for folder, _, names in os.walk(root, followlinks=True):
        for name in names:
            path = Path(folder, name)
            relative = path.relative_to(root).as_posix()
            if not path.is_file():
                raise ConfigError(
                    f"Model file '{relative}' in {root} is not a regular file (a broken link or a "
                    "special file), so it cannot be hashed or uploaded. Remove it or replace it "
                    "with the file it should point to."
                )
            manifest[relative] = digest_file(path)
    return dict(sorted(manifest.items()))


def verify_manifest(model_dir: Path, manifest: dict[str, str]) -> None:
    """Raise `IntegrityError` unless `model_dir` holds exactly the files of `manifest`, unchanged.

    Every changed, missing and unexpected file is named in the message.
    """
    actual = build_manifest(model_dir)
    problems = []
    for relative, expected in manifest.items():
        got = actual.get(relative)
        if got is None:
            problems.append(f"Model file '{relative}' is missing (registered sha256 {_short(expected)}).")
        elif got != expected:
            problems.append(
                f"Model file '{relative}' does not match its registered sha256 "
                f"(expected {_short(expected)}, got {_short(got)})."
            )
    for relative in sorted(set(actual) - set(manifest)):
        problems.append(
            f"Model file '{relative}' is not in the registered manifest (sha256 {_short(actual[relative])})."
        )
    if len(problems) == 1:
        raise IntegrityError(f"{problems[0]} {_REFUSAL}")
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise IntegrityError(
            f"{len(problems)} model files in {model_dir} differ from the registered manifest:\n"
            f"{lines}\n{_REFUSAL}"
        )
