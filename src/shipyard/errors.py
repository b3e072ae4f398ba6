"""The whole Shipyard exception tree, catchable at any level.

A check that runs and says "no" returns a result; these exceptions mean Shipyard
could not evaluate, or a caller asked a failing report to raise.

    ShipyardError
    ├── ConfigError (also ValueError)        bad shipyard.yaml, bad argument, missing file
    │   └── EntryPointError                  a `module:function` that does not import or is not callable
    ├── DataValidationError                  data failed validation; carries `.report`
    ├── GateFailedError                      a required gate rejected the model; carries `.report`
    ├── StageError                           a pipeline stage crashed; carries `.stage`, `.user_code`
    ├── RegistryError
    │   ├── ModelVersionNotFound
    │   ├── AliasConflict
    │   └── IntegrityError                   a model file does not match its sha256 manifest
    ├── EnvironmentMismatchError             the environment fingerprint differs and policy says fail
    ├── ServingError
    ├── PluginLoadError
    ├── ServiceUnavailableError              a tracking server or database did not answer; names it
    └── BusyError                            another rollout or retrain is running; names it
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shipyard.core.results import Report


class ShipyardError(Exception):
    """Base of every error Shipyard raises on purpose."""


class ConfigError(ShipyardError, ValueError):
    """Configuration or usage is wrong: the message names the file, key path and value."""


class EntryPointError(ConfigError):
    """A `module:function` reference does not import or does not name a callable."""


class DataValidationError(ShipyardError):
    """Data failed validation; `.report` holds every failure."""

    def __init__(self, message: str, report: Report) -> None:
        super().__init__(message)
        self.report = report


class GateFailedError(ShipyardError):
    """A required gate rejected the model; `.report` holds every gate result."""

    def __init__(self, message: str, report: Report) -> None:
        super().__init__(message)
        self.report = report


class StageError(ShipyardError):
    """A pipeline stage crashed. `user_code` tells the user's code apart from Shipyard's own."""

    def __init__(self, message: str, *, stage: str, user_code: bool, traceback: str = "") -> None:
        super().__init__(message)
        self.stage = stage
        self.user_code = user_code
        self.traceback = traceback


class RegistryError(ShipyardError):
    """The model registry refused an operation or could not be reached."""


class ModelVersionNotFound(RegistryError):
    """No such model version or alias in the registry."""


class AliasConflict(RegistryError):
    """An alias move is not allowed (e.g. promoting a version that failed its gates)."""


class IntegrityError(RegistryError):
    """A model file does not match the sha256 manifest recorded at registration."""


class EnvironmentMismatchError(ShipyardError):
    """The running environment differs from the model's fingerprint and policy says fail."""


class ServingError(ShipyardError):
    """The model server could not load or serve a model."""


class PluginLoadError(ShipyardError):
    """An entry-point plugin failed to load."""


class ServiceUnavailableError(ShipyardError):
    """A service (tracking server, database) did not answer within its timeout and retries; the
    message names it. A usage or environment error, not a bug, and not "no such report"."""


class BusyError(ShipyardError):
    """A second rollout or retrain was refused because one is already running (named in the message)."""


# Failures of the user's machine, not of Shipyard: permissions, a read-only or full disk,
# a file where a folder should be.
_ENVIRONMENT_ERRNOS = frozenset(
    {
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENOSPC,
        errno.EDQUOT,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EEXIST,
        errno.ENAMETOOLONG,
    }
)


def environment_error(exc: OSError) -> ConfigError | None:
    """A `ConfigError` naming the path when `exc` comes from the machine (permissions, disk,
    the `.shipyard/` state folder), else None: other OS errors stay crashes to report."""
    path = exc.filename
    in_state = path is not None and ".shipyard" in Path(str(path)).parts
    if exc.errno not in _ENVIRONMENT_ERRNOS and not in_state:
        return None
    where = f" {path}" if path is not None else ""
    reason = exc.strerror or type(exc).__name__
    hint = (
        "Shipyard keeps its cache, registry and reports in the project's .shipyard/ folder: make it "
        "writable by this user (and free disk space), or remove it to start afresh."
        if in_state
        else "Check the path's permissions and the free disk space, then run again."
    )
    return ConfigError(f"Cannot use{where}: {reason}. {hint}")
