"""Where stages run: the `Executor` protocol, the in-process executor, and the stage body they share.

The runner decides *what* runs (keys, cache hits, what the target needs); an executor decides
*where*. Both executors call `run_job`, which looks the inputs up in the `StageCache`, writes
the output through it (so the shared object store gets it too) and turns any exception into
the same `ShipyardError` a local run raises. A failure comes back as a value, so it crosses a
process boundary unchanged (see `StageFailure`).
"""

from __future__ import annotations

import json
import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from shipyard.errors import ShipyardError, StageError, environment_error
from shipyard.pipeline.cache import StageCache

if TYPE_CHECKING:
    from shipyard.pipeline.runner import Stage

#: written into every stage output: which process produced it, and how long it took
STAGE_METADATA = ".stage.json"


_RUNNING_ON: ContextVar[str] = ContextVar("shipyard_executor", default="local")


def current_executor() -> str:
    """The name of the executor running the current stage ('local' outside any stage)."""
    return _RUNNING_ON.get()


@dataclass(frozen=True)
class Job:
    """One stage to run: its cache key, and the cache keys of the upstream outputs it reads."""

    stage: Stage
    key: str
    inputs: Mapping[str, str]


@dataclass(frozen=True)
class StageDone:
    path: Path
    seconds: float


class StageFailure:
    """A stage's error, carried as a value. Our exceptions take keyword arguments (`StageError`'s
    `stage=`), which the default exception pickling drops; this rebuilds them attribute by
    attribute, so a failure on a Ray worker is the very error a local run raises."""

    def __init__(self, error: ShipyardError, seconds: float) -> None:
        self.error = error
        self.seconds = seconds

    def __reduce__(self) -> tuple[Any, ...]:
        error = self.error
        return (_rebuild, (type(error), error.args, dict(error.__dict__), self.seconds))


def _rebuild(cls: type[ShipyardError], args: tuple, state: dict, seconds: float) -> StageFailure:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return StageFailure(error, seconds)


def run_job(job: Job, cache: StageCache, executor: str) -> StageDone | StageFailure:
    """Run one stage into its cache entry; the same body whichever executor calls it."""
    name = job.stage.name
    start = time.perf_counter()
    running_on = _RUNNING_ON.set(executor)
    try:
        inputs = {dep: _input(cache, dep, key) for dep, key in job.inputs.items()}
        with cache.store(name, job.key) as out:
            job.stage.run(inputs, out)
            seconds = time.perf_counter() - start
            metadata = {"executor": executor, "pid": os.getpid(), "host": socket.gethostname()}
            (out / STAGE_METADATA).write_text(json.dumps({**metadata, "seconds": round(seconds, 3)}))
        return StageDone(cache.path(name, job.key), seconds)
    except Exception as exc:  # noqa: BLE001 - every failure is classified and reported, none swallowed
        error = _classified(name, exc)
        if error is not exc:
            error.__cause__ = exc
        return StageFailure(error, time.perf_counter() - start)
    finally:
        _RUNNING_ON.reset(running_on)


def _input(cache: StageCache, stage: str, key: str) -> Path:
    path = cache.lookup(stage, key)
    if path is None:
        raise StageError(
            f"The output of stage '{stage}' vanished from the cache while the run needed it "
            "(a concurrent clean?). Run again.",
            stage=stage,
            user_code=False,
        )
    return path


def _classified(stage: str, exc: Exception) -> ShipyardError:
    """Our own errors pass through; an OS error from the machine becomes a usage error;
    anything else is a crash inside Shipyard (the user's code raises `StageError` itself)."""
    if isinstance(exc, ShipyardError):
        return exc
    if isinstance(exc, OSError) and (usage := environment_error(exc)) is not None:
        return usage
    return StageError(
        f"Stage '{stage}' failed inside Shipyard: {type(exc).__name__}: {exc}. "
        "This is a Shipyard bug; please report it with the traceback.",
        stage=stage,
        user_code=False,
        traceback="".join(traceback.format_exception(exc)),
    )


class StageFailed(Exception):
    """Raised by an executor when a stage failed; the runner records it and re-raises `error`."""

    def __init__(self, stage: str, failure: StageFailure) -> None:
        super().__init__(stage)
        self.stage = stage
        self.failure = failure


#: called by an executor as each stage finishes: (stage name, result)
OnDone = Callable[[str, StageDone], None]


class Executor(Protocol):
    """Runs the jobs (given in dependency order) and calls `on_done` as each one finishes; on
    the first failure it lets running jobs finish, starts no more, and raises `StageFailed`."""

    name: str

    def execute(self, jobs: Sequence[Job], cache: StageCache, on_done: OnDone) -> None: ...


class LocalExecutor:
    """One stage after another in this process: the default, and it never imports Ray."""

    name = "local"

    def execute(self, jobs: Sequence[Job], cache: StageCache, on_done: OnDone) -> None:
        for job in jobs:
            result = run_job(job, cache, self.name)
            if isinstance(result, StageFailure):
                raise StageFailed(job.stage.name, result)
            on_done(job.stage.name, result)
