"""Stages as Ray tasks (`executor: ray`, or `shipyard run --executor ray`).

Each stage runs `run_job` in a Ray worker, with the resources shipyard.yaml's `resources:`
declares for it; a stage starts as soon as the stages it reads have finished, so independent
stages (features and split) run side by side, and so do the gates inside the gate stage.
Outputs go through the same `StageCache` (and its shared object store) as a local run,
under the same keys; a failure comes back as the same `ShipyardError`. Ray is imported
only here, and only when a stage has to run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shipyard.config.policy import StageResources
from shipyard.core.distributed import connect_ray
from shipyard.core.results import Report
from shipyard.errors import ConfigError, StageError
from shipyard.pipeline.cache import StageCache
from shipyard.pipeline.executors import Job, OnDone, StageDone, StageFailed, StageFailure, run_job

#: the driver's variables a stage reads (registry, state, object store and its credentials,
#: signing key, actor): a worker started by someone else's `ray start` has its own environment
FORWARDED = ("SHIPYARD_", "MLFLOW_", "AWS_", "GITHUB_ACTOR")

#: shipyard.yaml's option name, Ray's resource name, and the unit an error message uses
_FIELDS = (("num_cpus", "CPU", "CPU"), ("num_gpus", "GPU", "GPU"), ("memory", "memory", "bytes of memory"))


class RayExecutor:
    """Runs each stage as a Ray task on the cluster `connect_ray` joins (or a local instance)."""

    name = "ray"

    def __init__(self, resources: Mapping[str, StageResources] | None = None) -> None:
        self.resources = dict(resources or {})

    def options(self, stage: str) -> dict[str, Any]:
        """The Ray task options of `stage`: its declared resources, no automatic retries (a
        crash is reported, as it is locally), and the stage's name on Ray's dashboard."""
        declared = self.resources.get(stage, StageResources())
        options: dict[str, Any] = {"name": f"shipyard:{stage}", "max_retries": 0}
        for option, _, _ in _FIELDS:
            value = getattr(declared, option)
            if value is not None:
                options[option] = value
        return options

    def execute(self, jobs: Sequence[Job], cache: StageCache, on_done: OnDone) -> None:
        if not jobs:
            return  # everything cached: Ray is not even started
        ray = connect_ray()
        self._check_fits(ray.cluster_resources(), jobs)
        task = ray.remote(_run_in_environment)
        environ = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED)}
        waiting = list(jobs)
        planned = {job.stage.name for job in jobs}
        finished: set[str] = set()
        running: dict[Any, Job] = {}
        failed: StageFailed | None = None
        try:
            while waiting or running:
                ready = [j for j in waiting if all(d in finished or d not in planned for d in j.stage.deps)]
                for job in ready if failed is None else []:
                    waiting.remove(job)
                    ref = task.options(**self.options(job.stage.name)).remote(job, cache, environ)
                    running[ref] = job
                if failed is not None:
                    waiting.clear()  # after a failure, running stages finish and nothing new starts
                if not running:
                    break
                [ref], _ = ray.wait(list(running), num_returns=1)
                job = running.pop(ref)
                outcome = _result(ray, ref, job.stage.name)
                if isinstance(outcome, StageFailure):
                    failed = failed or StageFailed(job.stage.name, outcome)
                else:
                    finished.add(job.stage.name)
                    on_done(job.stage.name, StageDone(_here(cache, job), outcome.seconds))
        except KeyboardInterrupt:
            for ref in running:
                ray.cancel(ref, force=True)
            raise
        if failed is not None:
            raise failed

    def _check_fits(self, cluster: Mapping[str, float], jobs: Sequence[Job]) -> None:
        """Ray would wait forever for a stage that asks for more than the whole cluster has."""
        for job in jobs:
            declared = self.resources.get(job.stage.name, StageResources())
            for option, resource, unit in _FIELDS:
                asked, total = getattr(declared, option) or 0, cluster.get(resource, 0)
                if asked > total:
                    raise ConfigError(
                        f"shipyard.yaml: resources.{job.stage.name}.{option}: the stage asks for "
                        f"{asked:g} {unit} but the whole Ray cluster has {total:g}, so it would never "
                        "start. Lower it, or join a cluster that has it (RAY_ADDRESS)."
                    )


def _run_in_environment(job: Job, cache: StageCache, environ: dict[str, str]) -> StageDone | StageFailure:
    """`run_job` on a worker, seeing the driver's `FORWARDED` variables as the driver does."""
    with driver_environment(environ):
        return run_job(job, cache, RayExecutor.name)


@contextmanager
def driver_environment(environ: Mapping[str, str]) -> Iterator[None]:
    """`FORWARDED` variables exactly as in `environ` for the block, then as they were (a
    worker process serves many runs)."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED)}
    for name in saved.keys() - environ.keys():
        del os.environ[name]
    os.environ.update(environ)
    try:
        yield
    finally:
        for name in environ.keys() - saved.keys():
            os.environ.pop(name, None)
        os.environ.update(saved)


def _here(cache: StageCache, job: Job) -> Path:
    """The stage's output on this machine: a worker on another node stored it in its own
    cache folder and in the shared object store, from which it is fetched."""
    path = cache.lookup(job.stage.name, job.key)
    if path is None:
        raise ConfigError(
            f"Stage '{job.stage.name}' ran on another Ray node, and its output cannot reach this "
            "machine: set state.object_store (or SHIPYARD_OBJECT_STORE) to a store every node can "
            "reach (see docs/team.md)."
        )
    return path


def _result(ray: Any, ref: Any, stage: str) -> StageDone | StageFailure:
    """The stage's outcome; a worker that died (killed, out of memory) is a failure of the stage."""
    try:
        outcome: StageDone | StageFailure = ray.get(ref)
    except ray.exceptions.RayError as exc:
        error = StageError(
            f"Stage '{stage}' was lost on Ray: {type(exc).__name__}: {exc}. A worker that runs out "
            f"of memory is killed: raise resources.{stage}.memory, or run with --executor local.",
            stage=stage,
            user_code=False,
        )
        return StageFailure(error, 0.0)
    return outcome


def run_gates_on_ray(
    gates: Sequence[tuple[Any, Any]], context: Any, project_root: Path, modules: Sequence[str]
) -> Report:
    """Each gate as its own Ray task (called from the gate stage running on Ray): the context
    is put in Ray's object store once, and the report keeps the gates' order."""
    from ray import cloudpickle

    ray = connect_ray()
    # Pickled here, unpickled in the task once the project folder is importable: gates and
    # models may hold the user's functions, which pickle as references to the user's modules.
    shared = ray.put(cloudpickle.dumps(context))
    task = ray.remote(_run_gate)
    refs = [
        task.options(name=f"shipyard:gate:{config.label}", max_retries=0).remote(
            str(project_root), list(modules), cloudpickle.dumps((config, gate)), shared
        )
        for config, gate in gates
    ]
    return Report.of("gates", [result for report in ray.get(refs) for result in report.results])


def _run_gate(project_root: str, modules: list[str], gate: bytes, context: bytes) -> Report:
    from ray import cloudpickle

    from shipyard.gates.catalog import run_gates
    from shipyard.training.entrypoints import use_import_root

    use_import_root(Path(project_root), modules)
    return run_gates([cloudpickle.loads(gate)], cloudpickle.loads(context))
