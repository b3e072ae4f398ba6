"""The stages of `shipyard run`: load, validate, features, split, train, evaluate (then gate, register).

Each stage is a plain module-level function of (its static configuration, the upstream
output folders it declares, its own output folder), bound with `functools.partial`: nothing
is passed in memory, the raw data included (the `load` stage writes it as Parquet), so any
executor can run a stage and the cache entry is the same whichever ran it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shipyard.core.results import Report
from shipyard.errors import ConfigError
from shipyard.pipeline.context import RunContext
from shipyard.pipeline.runner import Stage


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True, default=str))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


#: the stages of `shipyard run`, in order (the keys `resources:` in shipyard.yaml may name)
STAGE_NAMES = ("load", "validate", "features", "split", "train", "evaluate", "gate", "register")
RAW = "raw.parquet"


def _target(ctx: RunContext, frame: pd.DataFrame) -> pd.Series:
    return frame[ctx.policy.data.target]


def read_raw(inputs: Mapping[str, Path]) -> pd.DataFrame:
    """The run's raw data, as the `load` stage wrote it."""
    return pd.read_parquet(inputs["load"] / RAW)


def _load(ctx: RunContext, inputs: Mapping[str, Path], out: Path) -> None:
    ctx.raw().to_parquet(out / RAW)


def load_stage(ctx: RunContext) -> Stage:
    """The raw data (the file or the loader's frame) as Parquet: the input of every later stage."""
    parts = {"data": ctx.data_digest, "from": ctx.data_key, "smoke": ctx.smoke}
    return Stage("load", partial(_load, ctx), key_parts=parts)


def data_rules(ctx: RunContext) -> dict[str, Any]:
    """The keyword arguments of `validate` from shipyard.yaml (no volume limits in smoke)."""
    data = ctx.policy.data
    return {
        "target": data.target,
        "task": ctx.policy.task,
        "min_rows": 1 if ctx.smoke else data.min_rows,
        "max_rows": None if ctx.smoke else data.max_rows,
        "max_duplicate_fraction": data.max_duplicate_fraction,
        "min_class_fraction": data.min_class_fraction,
    }


def validate_data(ctx: RunContext, raw: pd.DataFrame) -> Report:
    """This run's data against the project's schema and data checks."""
    from shipyard.data.schema import read_schema
    from shipyard.data.validation import validate

    return validate(raw, read_schema(ctx.project.schema_path), **data_rules(ctx))


def _validate(ctx: RunContext, inputs: Mapping[str, Path], out: Path) -> None:
    report = validate_data(ctx, read_raw(inputs))
    (out / "data_report.json").write_text(report.to_json())
    report.raise_for_status()


def validate_stage(ctx: RunContext) -> Stage:
    data = ctx.policy.data
    schema_path = ctx.project.schema_path
    if not schema_path.is_file():
        raise ConfigError(
            f"shipyard.yaml: data.schema: no schema at {schema_path}. "
            "Run 'shipyard schema infer' and commit the file."
        )
    parts = {
        "schema": ctx.hasher.digest(schema_path),
        "config": data.model_dump(),
        "smoke": ctx.smoke,
        "task": ctx.policy.task,
    }
    return Stage("validate", partial(_validate, ctx), deps=("load",), key_parts=parts)


def _make_features(ctx: RunContext, inputs: Mapping[str, Path], out: Path) -> None:
    raw = read_raw(inputs)
    _features(ctx, raw).to_parquet(out / "X.parquet")
    _target(ctx, raw).to_frame().to_parquet(out / "y.parquet")


def features_stage(ctx: RunContext) -> Stage:
    ref = ctx.policy.entrypoints.features
    parts = {
        "code": ctx.code_digest(ref, "entrypoints.features"),
        "ref": ref,
    }
    return Stage("features", partial(_make_features, ctx), deps=("load", "validate"), key_parts=parts)


def _features(ctx: RunContext, raw: pd.DataFrame) -> pd.DataFrame:
    from shipyard.training.entrypoints import load_entrypoint
    from shipyard.training.fitting import apply_features

    inputs = raw.drop(columns=[ctx.policy.data.target])
    ref = ctx.policy.entrypoints.features
    if ref is None:
        return inputs
    fn = load_entrypoint(ref, ctx.project.root, key="entrypoints.features")
    return apply_features(fn, inputs, name=ref)


def _split(ctx: RunContext, inputs: Mapping[str, Path], out: Path) -> None:
    train_idx, test_idx = split_indices(ctx, read_raw(inputs))
    np.savez(out / "split.npz", train=train_idx, test=test_idx)


def split_stage(ctx: RunContext) -> Stage:
    parts = {"split": ctx.policy.split.model_dump(), "task": ctx.policy.task}
    return Stage("split", partial(_split, ctx), deps=("load", "validate"), key_parts=parts)


def split_indices(ctx: RunContext, raw: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Positional train/test indices: random, stratified on the target, or by time."""
    split = ctx.policy.split
    n = len(raw)
    n_test = max(1, int(round(n * split.test_size)))
    if split.method == "time":
        if split.column not in raw.columns:
            raise ConfigError(f"shipyard.yaml: split.column: column '{split.column}' is not in the data.")
        column = raw[split.column]
        if column.dtype == object or pd.api.types.is_string_dtype(column):
            # ISO dates stored as text (a Parquet string column): ordered as the dates they are
            parsed = pd.to_datetime(column, format="ISO8601", errors="coerce", utc=True)
            column = parsed if parsed.notna().sum() == column.notna().sum() else column
        if not (pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_numeric_dtype(column)):
            raise ConfigError(
                f"shipyard.yaml: split.column: the time split orders rows by '{split.column}', which "
                f"has dtype {column.dtype}, not a date/time or number. Parse it as datetime in your "
                "loader (or store it as such in Parquet), or use split method 'random'/'stratified'."
            )
        order = np.argsort(column.to_numpy(), kind="stable")
        return np.sort(order[: n - n_test]), np.sort(order[n - n_test :])
    from sklearn.model_selection import train_test_split

    stratify = None
    if split.method == "stratified" and ctx.policy.task == "classification":
        stratify = _target(ctx, raw).to_numpy()
        counts = _target(ctx, raw).value_counts()
        rare = counts[counts < 2]
        if len(rare):
            raise ConfigError(
                f"shipyard.yaml: split.method: a stratified split needs at least 2 rows of each "
                f"class; class {rare.index[0]} has {int(rare.iloc[0])} row. Use method 'random', "
                "or collect more rows of that class."
            )
    train_idx, test_idx = train_test_split(
        np.arange(n), test_size=n_test, random_state=split.seed, stratify=stratify
    )
    return np.sort(train_idx), np.sort(test_idx)


def _train(ctx: RunContext, inputs: Mapping[str, Path], out: Path) -> None:
    from shipyard.core.environment import capture_fingerprint, model_packages
    from shipyard.training.entrypoints import load_entrypoint, source_files
    from shipyard.training.fitting import fit
    from shipyard.training.packaging import ModelTrust, Servable, package_model

    X = pd.read_parquet(inputs["features"] / "X.parquet")
    y = pd.read_parquet(inputs["features"] / "y.parquet").iloc[:, 0]
    train_idx = np.load(inputs["split"] / "split.npz")["train"]
    train_fn = load_entrypoint(ctx.policy.entrypoints.train, ctx.project.root, key="entrypoints.train")
    estimator = fit(
        train_fn,
        X.iloc[train_idx],
        y.iloc[train_idx],
        dict(ctx.params),
        seed=ctx.seed,
        task=ctx.policy.task,
    )
    features_ref = ctx.policy.entrypoints.features
    features_fn = (
        load_entrypoint(features_ref, ctx.project.root, key="entrypoints.features") if features_ref else None
    )
    code_files = source_files(train_fn, ctx.project.root)
    if features_fn is not None:
        code_files = sorted({*code_files, *source_files(features_fn, ctx.project.root)})
    servable = Servable(
        estimator=estimator,
        features=features_fn,
        task=ctx.policy.task,
        target=ctx.policy.data.target,
        classes=tuple(getattr(estimator, "classes_", ())),
    )
    raw = read_raw(inputs)
    package_model(
        servable,
        out_dir=out / "model",
        project_root=ctx.project.root,
        features_ref=features_ref,
        code_files=code_files,
        input_example=raw.iloc[train_idx[:5]].drop(columns=[ctx.policy.data.target]),
        fingerprint=capture_fingerprint(model_packages(estimator)),
        trust=ModelTrust.of(ctx.policy),
    )
    _write_json(out / "train.json", {"params": ctx.params, "seed": ctx.seed, "rows": len(train_idx)})


def train_stage(ctx: RunContext) -> Stage:
    from shipyard.core.environment import runtime_key

    ref = ctx.policy.entrypoints.train

    parts = {
        "code": ctx.code_digest(ref, "entrypoints.train"),
        "ref": ref,
        "params": ctx.params,
        "seed": ctx.seed,
        "runtime": runtime_key(),
        "model_format": ctx.policy.model_format.model_dump(),
    }
    return Stage("train", partial(_train, ctx), deps=("load", "features", "split"), key_parts=parts)


def test_rows(inputs: Mapping[str, Path]) -> pd.DataFrame:
    """The held-out rows of the raw data (needs the `load` and `split` outputs)."""
    test_idx = np.load(inputs["split"] / "split.npz")["test"]
    return read_raw(inputs).iloc[test_idx]


def _evaluate(ctx: RunContext, inputs: Mapping[str, Path], out: Path) -> None:
    from shipyard.evaluation.curves import curve_data, histogram
    from shipyard.evaluation.metrics import compute_metrics
    from shipyard.evaluation.performance import measure_performance
    from shipyard.evaluation.slices import slice_metrics
    from shipyard.training.packaging import ModelTrust, load_servable

    policy = ctx.policy

    model_dir = inputs["train"] / "model"
    servable = load_servable(model_dir, ModelTrust.of(policy))
    rows = test_rows(inputs)
    y_true = _target(ctx, rows).to_numpy()
    outputs = servable.outputs(rows)
    names = policy.metrics or None
    metrics = compute_metrics(policy.task, y_true, outputs, names)
    slices = (
        slice_metrics(policy.task, y_true, outputs, rows, policy.slices, list(metrics))
        if policy.slices
        else {}
    )
    inputs_only = rows.drop(columns=[policy.data.target])
    timed = _TimedPredict(servable.predict_frame)
    samples = policy.evaluation.latency_samples
    samples = min(samples, 50) if ctx.smoke else samples
    warmup = policy.evaluation.warmup
    performance = measure_performance(
        timed,
        inputs_only,
        samples=samples,
        warmup=warmup,
        batch=policy.evaluation.throughput_batch,
        model_path=model_dir,
    )
    curves = curve_data(policy.task, y_true, outputs)
    curves["latency"] = histogram(np.asarray(timed.single_row_ms[warmup : warmup + samples]), log=True)
    save_outputs(out / "outputs.npz", y_true, outputs)
    _write_json(
        out / "evaluation.json",
        {
            "metrics": metrics,
            "slices": slices,
            "performance": performance,
            "test_rows": len(rows),
            "curves": curves,
        },
    )


def evaluate_stage(ctx: RunContext) -> Stage:
    policy = ctx.policy
    parts = {
        "metrics": policy.metrics,
        "slices": policy.slices,
        "evaluation": policy.evaluation.model_dump(),
        "smoke": ctx.smoke,
    }
    return Stage("evaluate", partial(_evaluate, ctx), deps=("load", "train", "split"), key_parts=parts)


class _TimedPredict:
    """Wraps a predict function and keeps the duration of each single-row call (in ms), so
    the report can show the latency distribution behind the percentiles."""

    def __init__(self, predict: Callable[[pd.DataFrame], object]) -> None:
        self._predict = predict
        self.single_row_ms: list[float] = []

    def __call__(self, frame: pd.DataFrame) -> object:
        start = time.perf_counter()
        result = self._predict(frame)
        if len(frame) == 1:
            self.single_row_ms.append((time.perf_counter() - start) * 1000)
        return result


def _storable(values: Any) -> np.ndarray:
    """An array NumPy stores without pickle: object arrays (string labels, pandas nullable
    ints) become their natural dtype, or text when the values are mixed."""
    array = np.asarray(values)
    if array.dtype != object:
        return array
    natural = np.array(array.tolist())
    return natural.astype(str) if natural.dtype == object else natural


def save_outputs(path: Path, y_true: np.ndarray, outputs: Any) -> None:
    arrays: dict[str, Any] = {
        "y_true": _storable(y_true),
        "y_pred": _storable(outputs.y_pred),
        "classes": _storable(list(outputs.classes)),
    }
    if outputs.y_score is not None:
        arrays["y_score"] = outputs.y_score
    np.savez(path, **arrays)


def load_outputs(path: Path) -> tuple[np.ndarray, Any]:
    from shipyard.evaluation.outputs import ModelOutputs

    data = np.load(path, allow_pickle=False)
    score = data["y_score"] if "y_score" in data.files else None
    return data["y_true"], ModelOutputs(data["y_pred"], score, tuple(data["classes"].tolist()))


def report_of(path: Path) -> Report:
    return Report.from_dict(read_json(path))
