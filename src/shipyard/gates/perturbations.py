"""Perturbations of raw rows for behavioural gates, checked against the schema.

A perturbation is written in `shipyard.yaml` as a mapping with a `kind` and its
options, or as a bare kind:

    {kind: swap_categories}      every other allowed category (max change over them)
    {kind: shuffle}              the column's values permuted across rows
    {kind: noise, scale: 0.01}   Gaussian noise of `scale` x the column's std, kept in the schema range
    {kind: scale, factor: 2.0}   multiply (integers are rounded)
    {kind: shift, by: 10}        add
    {kind: set, value: mobile}   one value for every row (null for missing)
    {kind: my_pkg.perturb:fn, ...}   your function fn(rows, **options) -> rows

`perturb` returns the perturbed rows with, for each, the position of the row it
came from (`swap_categories` yields several variants per row).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shipyard.errors import ConfigError

if TYPE_CHECKING:
    from shipyard.data.schema import ColumnSchema, Schema

KINDS: dict[str, dict[str, Any]] = {
    "swap_categories": {},
    "shuffle": {},
    "noise": {"scale": 0.01},
    "scale": {"factor": None},
    "shift": {"by": None},
    "set": {"value": None},
}
NUMERIC_KINDS = frozenset({"noise", "scale", "shift"})
_EXAMPLES = 5
MAX_CATEGORIES = 100


def parse_perturbation(spec: Any, owner: str) -> tuple[str, dict[str, Any]]:
    """`(kind, options)` with defaults filled, or a `ConfigError` naming the bad part."""
    where = f"The 'perturbation' option of {owner}"
    if isinstance(spec, str):
        spec = {"kind": spec}
    if not isinstance(spec, Mapping) or not isinstance(spec.get("kind"), str):
        raise ConfigError(
            f"{where} must be a kind name or a mapping with a 'kind' (e.g. {{kind: noise, scale: 0.01}}). "
            f"Got {spec!r} instead."
        )
    kind, options = spec["kind"], {k: v for k, v in spec.items() if k != "kind"}
    if ":" in kind:
        return kind, options
    if kind not in KINDS:
        close = difflib.get_close_matches(kind, list(KINDS), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(
            f"{where} has the unknown kind {kind!r}.{hint} Valid kinds: {', '.join(KINDS)}, "
            f"or 'module:function' for your own function."
        )
    accepted = KINDS[kind]
    for key, value in options.items():
        if key not in accepted:
            valid = ", ".join(accepted) or "none"
            raise ConfigError(f"{where}: kind '{kind}' takes no option '{key}'. Its options: {valid}.")
        if key != "value" and (
            isinstance(value, bool) or not isinstance(value, int | float) or value != value
        ):
            raise ConfigError(f"{where}: '{key}' of kind '{kind}' must be a number. Got {value!r} instead.")
    missing = [k for k, v in accepted.items() if v is None and k not in options and k != "value"]
    if missing or (kind == "set" and "value" not in options):
        raise ConfigError(f"{where}: kind '{kind}' needs the option '{(missing or ['value'])[0]}'.")
    return kind, {**accepted, **options}


def sample_rows(rows: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """At most `max_rows` rows, a seeded sample in their original order."""
    if len(rows) <= max_rows:
        return rows
    picked = np.sort(np.random.default_rng(seed).choice(len(rows), size=max_rows, replace=False))
    return rows.iloc[picked]


def allowed_categories(column: str, rows: pd.DataFrame, schema: Schema | None) -> list[Any]:
    spec = _column_schema(schema, column)
    if spec is not None and spec.categories is not None:
        return list(spec.categories)
    return sorted(rows[column].dropna().unique().tolist(), key=str)


def _column_schema(schema: Schema | None, column: str) -> ColumnSchema | None:
    if schema is None or column not in schema.names:
        return None
    return schema.column(column)


def _numeric(rows: pd.DataFrame, column: str, kind: str) -> pd.Series:
    values = rows[column]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise ConfigError(
            f"The perturbation kind '{kind}' needs a numeric column; '{column}' has dtype {values.dtype}. "
            f"Use swap_categories, shuffle or set for it."
        )
    return values.astype(float)


def _keep_dtype(values: pd.Series, like: pd.Series) -> pd.Series:
    if pd.api.types.is_integer_dtype(like):
        return values.round().astype(like.dtype)
    return values


def perturb(
    rows: pd.DataFrame,
    column: str | None,
    spec: Any,
    *,
    owner: str,
    schema: Schema | None,
    seed: int,
    project_root: Path | None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The perturbed rows (fresh index) and the position in `rows` each one came from."""
    kind, options = parse_perturbation(spec, owner)
    positions = np.arange(len(rows))
    base = rows.reset_index(drop=True)
    if ":" in kind:
        return _user_function(kind, base, options, owner, project_root), positions
    if column is None:
        raise ConfigError(f"{owner} needs the option 'column' for the perturbation kind '{kind}'.")
    out = base.copy()
    rng = np.random.default_rng(seed)
    if kind == "swap_categories":
        categories = allowed_categories(column, base, schema)
        if len(categories) > MAX_CATEGORIES:
            raise ConfigError(
                f"{owner}: swap_categories on '{column}' would try {len(categories)} values (at most "
                f"{MAX_CATEGORIES}); it is not categorical. Use noise, scale, shift or set."
            )
        variants, origins = [], []
        for category in categories:
            keep = (base[column] != category).to_numpy()
            variant = base[keep].copy()
            variant[column] = category
            variants.append(variant)
            origins.append(positions[keep])
        if len(categories) < 2:
            raise ConfigError(f"{owner}: swap_categories needs at least 2 categories in '{column}'.")
        return pd.concat(variants, ignore_index=True), np.concatenate(origins)
    if kind == "shuffle":
        out[column] = base[column].to_numpy()[rng.permutation(len(base))]
    elif kind == "set":
        out[column] = pd.Series(
            [options["value"]] * len(base), dtype=object if options["value"] is None else None
        )
    else:
        values = _numeric(base, column, kind)
        if kind == "noise":
            std = float(values.std()) if len(values) > 1 else 0.0
            moved = values + rng.normal(size=len(values)) * options["scale"] * (std or 1.0)
            spec_column = _column_schema(schema, column)
            if spec_column is not None:
                moved = moved.clip(lower=spec_column.minimum, upper=spec_column.maximum)
        elif kind == "scale":
            moved = values * options["factor"]
        else:
            moved = values + options["by"]
        out[column] = _keep_dtype(moved, base[column])
    return out, positions


def _user_function(
    ref: str, rows: pd.DataFrame, options: dict[str, Any], owner: str, project_root: Path | None
) -> pd.DataFrame:
    from shipyard.training.entrypoints import load_entrypoint

    fn = load_entrypoint(ref, Path(project_root or "."), key=f"{owner}: perturbation.kind")
    result = fn(rows.copy(), **options)
    if not isinstance(result, pd.DataFrame) or len(result) != len(rows):
        got = f"{len(result)} rows" if isinstance(result, pd.DataFrame) else type(result).__name__
        raise ConfigError(
            f"{owner}: the perturbation {ref} must return a DataFrame with one row per input row "
            f"({len(rows)}). Got {got} instead."
        )
    return result.reset_index(drop=True)


def _outside(values: pd.Series, spec: ColumnSchema) -> tuple[pd.Series, str]:
    """Rows whose value the schema column does not allow, and the rule they break."""
    missing = values.isna()
    if not spec.nullable and missing.any():
        return missing, "no missing values (nullable: false)"
    present = values[~missing]
    if spec.categories is not None:
        allowed = {str(c) for c in spec.categories}
        bad = ~present.astype(str).isin(allowed)
        return bad.reindex(values.index, fill_value=False), f"one of {list(spec.categories)}"
    if spec.minimum is None and spec.maximum is None:
        return pd.Series(False, index=values.index), ""
    try:
        low = present < spec.minimum if spec.minimum is not None else False
        high = present > spec.maximum if spec.maximum is not None else False
    except TypeError:  # e.g. text set into a numeric column
        return ~missing, f"{spec.dtype} values"
    bad = pd.Series(low | high, index=present.index)
    return bad.reindex(values.index, fill_value=False), f"in [{spec.minimum}, {spec.maximum}]"


def invalid_rows(
    original: pd.DataFrame, perturbed: pd.DataFrame, origins: np.ndarray, schema: Schema | None
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """A mask of perturbed rows the schema rejects, and one finding per offending column."""
    bad = np.zeros(len(perturbed), dtype=bool)
    findings: list[dict[str, Any]] = []
    if schema is None:
        return bad, findings
    base = original.reset_index(drop=True).iloc[origins].reset_index(drop=True)
    for column in perturbed.columns:
        spec = _column_schema(schema, column)
        if spec is None or column == schema.target or column not in base.columns:
            continue
        after, before = perturbed[column], base[column]
        changed = ~((after == before) | (after.isna() & before.isna()))
        if not changed.any():
            continue
        outside, rule = _outside(after, spec)
        mask = (outside & changed).to_numpy(dtype=bool)
        if mask.any():
            bad |= mask
            findings.append(
                {
                    "column": column,
                    "rows": int(mask.sum()),
                    "expected": rule,
                    "values": after[mask].head(_EXAMPLES).tolist(),
                }
            )
    return bad, findings


def describe_invalid(findings: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"column '{f['column']}' has {f['rows']} perturbed values outside the schema, which expects "
        f"{f['expected']} (e.g. {', '.join(repr(v) for v in f['values'][:3])})"
        for f in findings
    )
