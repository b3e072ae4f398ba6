"""A small runner for stages with explicit inputs, outputs and content keys.

Keys are computed for every stage first (cheap: file stats, code digests,
params); then only the stages whose outputs are missing, and that the target
needs, run. When the last stage is cached, no data is even read.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from shipyard.core.hashing import digest_value
from shipyard.errors import ShipyardError, StageError, environment_error
from shipyard.pipeline.cache import StageCache


class StageStatus(StrEnum):
    RAN = "ran"
    CACHED = "cached"
    SKIPPED = "skipped"  # its output is not needed: what depends on it is cached
    FAILED = "failed"


@dataclass(frozen=True)
class Stage:
    """One step. `run(inputs, out)` reads its upstream outputs (folders) and writes into `out`.

    `key_parts` is everything besides upstream keys that decides the output: code
    digests, params, data digests. A stage with `cacheable=False` always runs when needed.
    """

    name: str
    run: Callable[[Mapping[str, Path], Path], None]
    deps: tuple[str, ...] = ()
    key_parts: Mapping[str, Any] = field(default_factory=dict)
    cacheable: bool = True
    is_valid: Callable[[Path], bool] | None = None


@dataclass(frozen=True)
class StageEvent:
    stage: str
    status: StageStatus
    seconds: float = 0.0
    error: str = ""


@dataclass
class PipelineResult:
    events: list[StageEvent] = field(default_factory=list)
    outputs: dict[str, Path] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def ran(self) -> list[str]:
        return [e.stage for e in self.events if e.status is StageStatus.RAN]

    @property
    def cached(self) -> list[str]:
        return [e.stage for e in self.events if e.status is StageStatus.CACHED]


def compute_keys(stages: list[Stage]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for stage in stages:
        upstream = {dep: keys[dep] for dep in stage.deps}
        keys[stage.name] = digest_value({"stage": stage.name, "parts": stage.key_parts, "upstream": upstream})
    return keys


def run_stages(
    stages: list[Stage],
    cache: StageCache,
    scratch: Path,
    *,
    on_event: Callable[[StageEvent], None] | None = None,
) -> PipelineResult:
    """Run what is missing, in order; a failing stage raises with its name attached."""
    by_name = {s.name: s for s in stages}
    result = PipelineResult(keys=compute_keys(stages))
    cached = {
        s.name: path
        for s in stages
        if s.cacheable
        and (path := cache.lookup(s.name, result.keys[s.name])) is not None
        and (s.is_valid is None or s.is_valid(path))
    }
    needed: set[str] = set()

    def require(name: str) -> None:
        if name in needed or name in cached:
            return
        needed.add(name)
        for dep in by_name[name].deps:
            require(dep)

    require(stages[-1].name)
    notify = on_event or (lambda event: None)
    for stage in stages:
        if stage.name not in needed:
            # Cached, or not needed because everything downstream of it is cached (an
            # uncacheable stage's result then lives in that downstream output).
            reused = stage.name in cached or not stage.cacheable
            status = StageStatus.CACHED if reused else StageStatus.SKIPPED
            if stage.name in cached:
                result.outputs[stage.name] = cached[stage.name]
            event = StageEvent(stage.name, status)
            result.events.append(event)
            notify(event)
            continue
        inputs = {dep: result.outputs[dep] for dep in stage.deps}
        start = time.perf_counter()
        try:
            if stage.cacheable:
                with cache.store(stage.name, result.keys[stage.name]) as out:
                    stage.run(inputs, out)
                result.outputs[stage.name] = cache.path(stage.name, result.keys[stage.name])
            else:
                out = scratch / stage.name
                out.mkdir(parents=True, exist_ok=True)
                stage.run(inputs, out)
                result.outputs[stage.name] = out
        except ShipyardError as exc:
            _emit_failure(result, notify, stage.name, start, exc)
            raise
        except OSError as exc:
            _emit_failure(result, notify, stage.name, start, exc)
            usage = environment_error(exc)
            if usage is None:
                raise _shipyard_bug(stage.name, exc) from exc
            raise usage from exc
        except Exception as exc:
            _emit_failure(result, notify, stage.name, start, exc)
            raise _shipyard_bug(stage.name, exc) from exc
        event = StageEvent(stage.name, StageStatus.RAN, time.perf_counter() - start)
        result.events.append(event)
        notify(event)
    return result


def _shipyard_bug(stage: str, exc: Exception) -> StageError:
    return StageError(
        f"Stage '{stage}' failed inside Shipyard: {type(exc).__name__}: {exc}. "
        "This is a Shipyard bug; please report it with the traceback.",
        stage=stage,
        user_code=False,
        traceback=traceback.format_exc(),
    )


def _emit_failure(
    result: PipelineResult,
    notify: Callable[[StageEvent], None],
    name: str,
    start: float,
    exc: BaseException,
) -> None:
    event = StageEvent(name, StageStatus.FAILED, time.perf_counter() - start, str(exc))
    result.events.append(event)
    notify(event)
