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
    if project.schema_path.is_file():
        _check_columns(project)
    if policy.split.method == "stratified" and policy.task == "regression":
        raise ConfigError(
            "shipyard.yaml: split.method: 'stratified' needs a classification task; "
            "use 'random' or 'time' for regression."
        )


def _check_columns(project: Project) -> None:
    """Columns named in the policy must exist in the schema, with a 'did you mean' if not."""
    import difflib

    from shipyard.data.schema import read_schema

    policy = project.policy
    columns = read_schema(project.schema_path).names
    named = [(f"slices[{i}]", name) for i, name in enumerate(policy.slices)]
    if policy.split.column:
        named.append(("split.column", policy.split.column))
    for key, name in named:
        if name not in columns:
            close = difflib.get_close_matches(name, columns, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else f" Columns: {', '.join(columns)}."
            raise ConfigError(f"shipyard.yaml: {key}: column '{name}' is not in the schema.{hint}")
