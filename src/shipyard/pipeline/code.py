"""Locate and digest the user's code without importing it (imports can take seconds)."""

from __future__ import annotations

from pathlib import Path

from shipyard.core.hashing import FileHasher, digest_value
from shipyard.errors import ConfigError


def split_ref(ref: str, key: str) -> tuple[str, str]:
    module, sep, attr = ref.partition(":")
    if not sep or not module or not attr:
        raise ConfigError(
            f"shipyard.yaml: {key}: '{ref}' is not a 'module:function' reference "
            "(e.g. 'fraud_model.train:train')."
        )
    return module, attr


def module_files(ref: str, root: Path, key: str) -> list[Path]:
    """The project files that define `ref` (see `code_files`), found without importing it.

    Empty when the module is not a file under `root` (e.g. an installed package).
    """
    from shipyard.training.entrypoints import code_files

    module, _ = split_ref(ref, key)
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return code_files(candidate, root)
    return []


def code_digest(files: list[Path], root: Path, hasher: FileHasher) -> str:
    named = [(p.relative_to(root) if p.is_relative_to(root) else p, p) for p in files]
    return digest_value([(str(name), hasher.digest(p)) for name, p in named])
