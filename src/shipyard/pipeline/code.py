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
    """The project files that define `ref`: its whole top-level package, or its single module.

    Empty when the module is not a file under `root` (e.g. an installed package).
    """
    module, _ = split_ref(ref, key)
    parts = module.split(".")
    package_dir = root / parts[0]
    if (package_dir / "__init__.py").is_file() or (
        package_dir.is_dir() and package_dir.joinpath(*parts[1:]).with_suffix(".py").is_file()
    ):
        return sorted(p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts)
    single = root.joinpath(*parts).with_suffix(".py")
    return [single] if single.is_file() else []


def code_digest(files: list[Path], root: Path, hasher: FileHasher) -> str:
    named = [(p.relative_to(root) if p.is_relative_to(root) else p, p) for p in files]
    return digest_value([(str(name), hasher.digest(p)) for name, p in named])
