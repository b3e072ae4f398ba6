"""Check a project before anything runs, so a typo is found in a second, not after training."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipyard.config.project import Project
from shipyard.errors import ConfigError
from shipyard.pipeline.code import module_files, split_ref


def lint(project: Project, *, smoke: bool = False) -> None:
    """Raise `ConfigError` for anything in `shipyard.yaml` that cannot work.

    Smoke reads only the committed sample, so a missing `data.source` does not stop it.
    """
    from shipyard.evaluation.metrics import check_metric_names
    from shipyard.gates.catalog import build_analysis, build_gates

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
    _refuse_live_only(policy.gates)
    gates = build_gates(policy.gates, task=policy.task, project_root=project.root)
    if policy.rollout.analysis:
        build_analysis(policy.rollout, policy.task)  # a typo in a live rule is found now, not mid-canary
    if project.schema_path.is_file():
        _check_columns(project)
        _check_gates(project, [gate for _, gate in gates])
    _check_resources(policy.resources)
    if policy.split.method == "stratified" and policy.task == "regression":
        raise ConfigError(
            "shipyard.yaml: split.method: 'stratified' needs a classification task; "
            "use 'random' or 'time' for regression."
        )


def _check_resources(resources: Mapping[str, Any]) -> None:
    """`resources:` keys are stage names: a typo would silently give a stage Ray's defaults."""
    import difflib

    from shipyard.pipeline.stages import STAGE_NAMES

    for name in resources:
        if name not in STAGE_NAMES:
            close = difflib.get_close_matches(name, STAGE_NAMES, n=1)
            hint = f"Did you mean '{close[0]}'?" if close else f"Stages: {', '.join(STAGE_NAMES)}."
            raise ConfigError(
                f"shipyard.yaml: resources.{name}: '{name}' is not a stage of 'shipyard run'. {hint}"
            )


def _refuse_live_only(configs: list[Any]) -> None:
    """A live rule under `gates:` would be skipped on every run, and a skip does not block:
    refuse it, naming the offline gate that measures the same thing."""
    from shipyard.gates.live import LIVE_ONLY_GATES

    for i, config in enumerate(configs):
        if config.type in LIVE_ONLY_GATES:
            raise ConfigError(
                f"shipyard.yaml: gates[{i}]: '{config.type}' judges live traffic, so it belongs under "
                f"rollout.analysis; offline it has nothing to measure. Use "
                f"{LIVE_ONLY_GATES[config.type]} under gates:."
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


# Options that name a raw column, whatever the gate (e.g. fairness's `sensitive`).
COLUMN_OPTIONS = ("column", "group", "sensitive")


def _check_gates(project: Project, gates: list[Any]) -> None:
    """Columns named by gate options exist in the schema; gates with a `lint` method check more
    (perturbations that fit the column, curated cases with known columns)."""
    from shipyard.data.schema import read_schema
    from shipyard.gates._probe import check_column
    from shipyard.gates.custom import FunctionGate

    schema = read_schema(project.schema_path)
    for i, gate in enumerate(gates):
        where = f"shipyard.yaml: gates[{i}]"
        params = dict(gate.params) if isinstance(gate, FunctionGate) else gate.get_params()
        for option in COLUMN_OPTIONS:
            value = params.get(option)
            names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
            for name in names:
                check_column(schema, name, f"{where}.{option}")
        check = getattr(gate, "lint", None)
        if callable(check):
            check(schema=schema, project_root=project.root, where=where)
