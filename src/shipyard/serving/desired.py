"""The GitOps deploy file `deploy/<env>.yaml`: the single source of truth of what a server serves.

Written by the rollout controller and `shipyard rollback`, read (and watched) by
`shipyard serve --desired`. Writes are atomic (temp file + rename), so a watching server
never reads half a file. Every write also names, in a comment under the header, the
revision of the state database's desired-state log it records (`shipyard.workspace.desired`),
so a file that is only behind is told apart from one edited by hand.

Examples:
    >>> state = DesiredState(model="fraud", production="3", canary={"version": "4", "weight": 0.05})
    >>> state.canary.weight
    0.05
    >>> sorted(state.versions())
    ['3', '4']
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shipyard.errors import ConfigError

__all__ = ["HEADER", "CanaryState", "DesiredState", "file_revision", "read_desired", "write_desired"]

HEADER = "# Managed by shipyard rollout; review changes in pull requests.\n"
_REVISION = "# Desired-state revision {} (state database); edit by hand and it is recorded anew.\n"
_REVISION_LINE = re.compile(r"^# Desired-state revision (\d+) ", re.MULTILINE)


def _version(value: Any) -> Any:
    """YAML reads `production: 3` as an int; versions are strings everywhere else."""
    if isinstance(value, bool):
        return value
    return str(value) if isinstance(value, int) else value


class CanaryState(BaseModel):
    """A canary version and its share of traffic (sticky by request key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1)
    weight: float = Field(ge=0.0, le=1.0, description="share of traffic, 0..1")

    _as_str = field_validator("version", mode="before")(_version)


class DesiredState(BaseModel):
    """What a server should serve: production, optional canary (with weight) and shadow."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1, description="registered model name")
    production: str = Field(min_length=1, description="version served to all other traffic")
    previous: str | None = Field(None, description="what `shipyard rollback` returns to")
    canary: CanaryState | None = None
    shadow: str | None = Field(None, description="scored off the response path, never returned")

    _as_str = field_validator("production", "previous", "shadow", mode="before")(_version)

    def versions(self) -> set[str]:
        """Every version the server must have loaded."""
        found = {self.production}
        if self.canary is not None:
            found.add(self.canary.version)
        if self.shadow is not None:
            found.add(self.shadow)
        return found


def read_desired(path: str | Path) -> DesiredState:
    """Parse a deploy file; every problem is a `ConfigError` naming the file and key."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"No deploy file at {path}. Write one with 'shipyard rollout' or by hand.")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: malformed YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping with 'model' and 'production'.")
    try:
        return DesiredState.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            key = ".".join(str(p) for p in error["loc"]) or "(root)"
            lines.append(f"{path}: {key}: {error['msg']}. Got {error.get('input')!r}.")
        raise ConfigError("\n".join(lines)) from None


def file_revision(path: str | Path) -> int | None:
    """The desired-state revision a deploy file says it records, or None (none named, or no file)."""
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    found = _REVISION_LINE.search(text)
    return None if found is None else int(found.group(1))


def write_desired(path: str | Path, state: DesiredState, *, revision: int | None = None) -> Path:
    """Write `state` atomically (temp file in the same folder, then rename) and return the path;
    `revision`: the desired-state revision it records, named in a comment."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = HEADER if revision is None else HEADER + _REVISION.format(revision)
    body = yaml.safe_dump(state.model_dump(exclude_none=True), sort_keys=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(header + body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
