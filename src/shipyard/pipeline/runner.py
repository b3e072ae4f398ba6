"""A small runner for stages with explicit inputs, outputs and content keys.

Keys are computed for every stage first (cheap: file stats, code digests,
params); then only the stages whose outputs are missing, and that the target
needs, run, on an `Executor` (in this process by default). When the last stage
is cached, no data is even read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from shipyard.core.hashing import digest_value
from shipyard.pipeline.cache import StageCache
from shipyard.pipeline.executors import Executor, Job, LocalExecutor, StageDone, StageFailed


class StageStatus(StrEnum):
    RAN = "ran"
    CACHED = "cached"
    SKIPPED = "skipped"  # its output is not needed: what depends on it is cached
    FAILED = "failed"


@dataclass(frozen=True)
class Stage:
    """One step. `run(inputs, out)` reads its upstream outputs (folders) and writes into `out`.

    `run` must be picklable (a module-level function, or a `functools.partial` of one over
    static configuration) so that any executor can run it. `key_parts` is everything besides
    upstream keys that decides the output: code digests, params, data digests. `outside`,
    when set, reads state outside the project that the output also depends on (the production
    model, for the gate); it is called only when the stage's cache entry is looked up, and
    it changes the stage's own cache key but not the keys of the stages downstream.
    """

    name: str
    run: Callable[[Mapping[str, Path], Path], None]
    deps: tuple[str, ...] = ()
    key_parts: Mapping[str, Any] = field(default_factory=dict)
    is_valid: Callable[[Path], bool] | None = None
    outside: Callable[[], Any] | None = None


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
    #: each stage's content key (what the stages downstream build their keys on)
    keys: dict[str, str] = field(default_factory=dict)
    #: the key each stage's output was looked up or stored under (differs from `keys` only
    #: for a stage with `outside` state); absent for a stage that was not looked up
    cache_keys: dict[str, str] = field(default_factory=dict)

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
    *,
    on_event: Callable[[StageEvent], None] | None = None,
    executor: Executor | None = None,
) -> PipelineResult:
    """Run what is missing on `executor`; a failing stage raises with its name attached.

    `result.events` lists the stages in pipeline order, whichever order they finished in.
    """
    by_name = {s.name: s for s in stages}
    result = PipelineResult(keys=compute_keys(stages))
    cached: dict[str, Path] = {}

    def look_up(stage: Stage) -> bool:
        key = result.keys[stage.name]
        if stage.outside is not None:
            key = digest_value({"content": key, "outside": stage.outside()})
        result.cache_keys[stage.name] = key
        path = cache.lookup(stage.name, key)
        if path is not None and (stage.is_valid is None or stage.is_valid(path)):
            cached[stage.name] = path
        return stage.name in cached

    # outside state is read only if the stage turns out to be needed
    known = [stage for stage in stages if stage.outside is None]
    cache.prefetch([(stage.name, result.keys[stage.name]) for stage in known])
    for stage in known:
        look_up(stage)
    needed: set[str] = set()

    def require(name: str) -> None:
        if name in needed or name in cached:
            return
        if by_name[name].outside is not None and look_up(by_name[name]):
            return
        needed.add(name)
        for dep in by_name[name].deps:
            require(dep)

    require(stages[-1].name)
    notify = on_event or (lambda event: None)
    events: dict[str, StageEvent] = {}

    def record(event: StageEvent) -> None:
        events[event.stage] = event
        notify(event)

    for stage in stages:
        if stage.name not in needed:
            # Cached, or not needed because everything downstream of it is cached (a stage with
            # outside state that was never looked up: its result lives in that downstream output).
            unread = stage.outside is not None and stage.name not in result.cache_keys
            reused = stage.name in cached or unread
            if stage.name in cached:
                result.outputs[stage.name] = cached[stage.name]
            record(StageEvent(stage.name, StageStatus.CACHED if reused else StageStatus.SKIPPED))
    jobs = [
        Job(stage, result.cache_keys[stage.name], {dep: result.cache_keys[dep] for dep in stage.deps})
        for stage in stages
        if stage.name in needed
    ]

    def done(name: str, outcome: StageDone) -> None:
        result.outputs[name] = outcome.path
        record(StageEvent(name, StageStatus.RAN, outcome.seconds))

    try:
        (executor or LocalExecutor()).execute(jobs, cache, done)
    except StageFailed as failed:
        error = failed.failure.error
        record(StageEvent(failed.stage, StageStatus.FAILED, failed.failure.seconds, str(error)))
        raise error from error.__cause__
    finally:
        result.events = [events[s.name] for s in stages if s.name in events]
    return result
