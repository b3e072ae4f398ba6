"""Check a project before anything runs, so a typo is found in a second, not after training."""

from __future__ import annotations

from shipyard.config.project import Project
from shipyard.errors import ConfigError
from shipyard.pipeline.code import module_files, split_ref


def lint(project: Project, *, smoke: bool = False) -> None:
    """Raise `ConfigError` for anything in `shipyard.yaml` that cannot work.

    Smoke reads only the committed sample, so a missing `data.source` does not stop it.
    """
    from shipyard.evaluation.metrics import check_metric_names
    from shipyard.gates.catalog import build_gates

    policy = project.policy
    data = policy.data
    if not smoke and data.source is not None and not project.resolve(data.source).exists():
        raise ConfigError(
            f"shipyard.yaml: data.source: no such file or folder: {project.resolve(data.source)}"
        )
    for key, ref in (
        ("entrypoints.train", policy.entrypoints.train),
        ("entrypoints.features", policy.entrypoints.features),
        ("data.loader", data.loader),
    ):
        if ref is None:
            continue
        split_ref(ref, key)
        if not module_files(ref, project.root, key):
            from shipyard.training.entrypoints import load_entrypoint

            load_entrypoint(ref, project.root, key=key)
    if policy.metrics:
        check_metric_names(policy.task, policy.metrics, "shipyard.yaml: metrics")
    build_gates(policy.gates, task=policy.task)
    if policy.split.method == "stratified" and policy.task == "regression":
        raise ConfigError(
            "shipyard.yaml: split.method: 'stratified' needs a classification task; "
            "use 'random' or 'time' for regression."
        )
