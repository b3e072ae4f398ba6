"""Read `shipyard.yaml` into a `Policy`, turning every problem into a `ConfigError` with a key path."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from shipyard.config.policy import Policy
from shipyard.errors import ConfigError

POLICY_FILE = "shipyard.yaml"


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Valid keys of the section at `loc` (for 'did you mean' hints)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            break
        annotation = field.annotation
        inner = [a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)]
        models = [a for a in inner if issubclass(a, BaseModel)]
        if not models:
            return []
        current = models[0]
    names = []
    for name, field in getattr(current, "model_fields", {}).items():
        names.append(field.alias or name)
    return names


def _describe(error: Mapping[str, Any], file: str) -> str:
    loc = tuple(error["loc"])
    path = ".".join(str(p) for p in loc) or "(root)"
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        valid = _fields_at(Policy, loc[:-1])
        close = difflib.get_close_matches(key, valid, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else f" Valid keys: {', '.join(sorted(valid))}."
        return f"{file}: {path}: unknown key '{key}'.{hint}"
    if kind == "missing":
        return f"{file}: {path}: required key is missing."
    got = error.get("input")
    got_text = f" Got {got!r} instead." if not isinstance(got, dict | list) else ""
    return f"{file}: {path}: {error['msg']}.{got_text}"


def parse_policy(data: Any, file: str = POLICY_FILE) -> Policy:
    """Validate a mapping (parsed YAML) as a `Policy`, reporting every problem at once."""
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: the top level must be a mapping of keys, got {type(data).__name__}.")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(e, file) for e in exc.errors()]
        raise ConfigError("\n".join(lines)) from None


def load_policy(path: str | Path) -> Policy:
    """Load and validate a policy file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"No policy file at {path}. Run inside a Shipyard project or pass --project DIR.")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path.name}: malformed YAML{where}: {exc}") from None
    return parse_policy(data, path.name)
