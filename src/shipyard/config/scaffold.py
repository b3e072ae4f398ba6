"""What `shipyard init` proposes for a folder with data: `shipyard.yaml`, starter code, CI files.

`propose` looks at the data (task, split, metrics, slices, identifier columns) and
`render_files` turns the proposal into file contents from the templates under
`config/templates/`. Nothing here writes; `write_files` does, and never overwrites
a file unless told to.
"""

from __future__ import annotations

import importlib.resources
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

SAMPLE_FILE = "data/sample.parquet"
SAMPLE_ROWS = 1000
MAX_CLASSES = 20
MAX_SLICE_VALUES = 10
MAX_SLICES = 3
PYTHON_VERSION = "3.11"
RETRAIN_CRON = "0 3 * * 1"  # Mondays at 03:00 UTC
# Written only where absent, even with --force: once written they are the user's files.
USER_FILES = ("model/__init__.py", "model/features.py", "model/train.py", "requirements.txt")
CI_FILES = {
    ".github/workflows/shipyard-pr.yml": "github/shipyard-pr.yml",
    ".github/workflows/shipyard-train.yml": "github/shipyard-train.yml",
    ".github/workflows/shipyard-retrain.yml": "github/shipyard-retrain.yml",
    ".github/workflows/shipyard-deploy.yml": "github/shipyard-deploy.yml",
    ".gitlab-ci.yml": "gitlab-ci.yml",
}
_METRICS = {
    "binary": ["roc_auc", "average_precision", "f1", "log_loss", "accuracy"],
    "multiclass": ["accuracy", "f1", "log_loss"],
    "regression": ["rmse", "mae", "r2"],
}
# The gated metric and a floor that only rules out a useless model: better than chance / the mean.
_PRIMARY = {
    "binary": ("roc_auc", "min", 0.6),
    "multiclass": ("accuracy", "min", None),  # None: the majority class's share, from the data
    "regression": ("r2", "min", 0.0),
}


@dataclass(frozen=True)
class Proposal:
    """The choices `shipyard init` made from the data, each explained in the generated YAML."""

    name: str
    task: str
    task_reason: str
    target: str
    kind: str  # binary, multiclass or regression
    data_source: str
    data_name: str
    rows: int
    sample_rows: int
    split: dict[str, object]
    split_reason: str
    metrics: list[str]
    slices: list[str]
    dropped: list[str]
    datetimes: list[str]
    majority_share: float = 0.0  # of the most frequent class (classification)


def project_name(folder: Path) -> str:
    """A valid project name from a folder name (letters, digits, `_`, `.`, `-`)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", folder.resolve().name).strip("-.")
    return name or "model"


def infer_task(target: pd.Series) -> tuple[str, str]:
    """Classification for labels (text, booleans, or integers with few values); regression otherwise."""
    import pandas as pd

    values = target.dropna()
    distinct = values.nunique()
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return "classification", f"Classification: '{target.name}' holds labels ({distinct} distinct values)"
    if pd.api.types.is_integer_dtype(values) and distinct <= MAX_CLASSES:
        return "classification", f"Classification: '{target.name}' holds {distinct} distinct integers"
    return "regression", f"Regression: '{target.name}' holds numbers ({distinct} distinct values)"


def _identifiers(frame: pd.DataFrame, target: str) -> list[str]:
    """Text or integer columns with a different value on every row: identifiers, not features."""
    import pandas as pd

    found = []
    for column in frame.columns:
        values = frame[column]
        if (
            column == target
            or pd.api.types.is_float_dtype(values)
            or pd.api.types.is_datetime64_any_dtype(values)
        ):
            continue
        if pd.api.types.is_bool_dtype(values) or len(values) < 20:
            continue
        if values.notna().all() and values.nunique() == len(values):
            found.append(str(column))
    return found


def propose(
    frame: pd.DataFrame, *, target: str, data_source: str, name: str, task: str | None = None
) -> Proposal:
    """Choose task, split, metrics and slices for `frame`; `ConfigError` if `target` is missing."""
    import difflib

    import pandas as pd

    if target not in frame.columns:
        close = difflib.get_close_matches(target, [str(c) for c in frame.columns], n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(
            f"--target: column '{target}' is not in the data.{hint} "
            f"Columns: {', '.join(map(str, frame.columns))}."
        )
    inferred, reason = infer_task(frame[target])
    if task is None:
        task = inferred
    else:
        reason = f"{task.capitalize()}: given with --task"
    kind = (
        "regression" if task == "regression" else ("binary" if frame[target].nunique() <= 2 else "multiclass")
    )
    datetimes = [str(c) for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    if datetimes:
        split: dict[str, object] = {"method": "time", "column": datetimes[0], "test_size": 0.25}
        split_reason = (
            f"# Hold out the latest quarter by '{datetimes[0]}': the model is judged on the future."
        )
    elif task == "classification":
        split, split_reason = (
            {"method": "stratified", "test_size": 0.25},
            "# Hold out a quarter, class shares kept.",
        )
    else:
        split, split_reason = (
            {"method": "random", "test_size": 0.25},
            "# Hold out a random quarter of the rows.",
        )
    dropped = _identifiers(frame, target)
    slices = [
        str(c)
        for c in frame.columns
        if c != target
        and c not in dropped
        and not pd.api.types.is_float_dtype(frame[c])
        and not pd.api.types.is_datetime64_any_dtype(frame[c])
        and 2 <= frame[c].nunique() <= MAX_SLICE_VALUES
    ][:MAX_SLICES]
    return Proposal(
        name=name,
        task=task,
        task_reason=reason,
        target=target,
        kind=kind,
        data_source=data_source,
        data_name=Path(data_source).name,
        rows=len(frame),
        sample_rows=min(len(frame), SAMPLE_ROWS),
        split=split,
        split_reason=split_reason,
        metrics=_METRICS[kind],
        slices=slices,
        dropped=dropped,
        datetimes=datetimes,
        majority_share=float(frame[target].value_counts(normalize=True).iloc[0])
        if task != "regression"
        else 0.0,
    )


def _template(name: str) -> str:
    return (importlib.resources.files("shipyard.config") / "templates" / f"{name}.tmpl").read_text()


def render(name: str, values: Mapping[str, object]) -> str:
    """The template `name` with every `<<key>>` replaced; a key left over is a bug, so it raises."""
    text = _template(name)
    for key, value in values.items():
        text = text.replace(f"<<{key}>>", str(value))
    leftover = re.findall(r"<<(\w+)>>", text)
    if leftover:
        raise KeyError(f"template {name}: no value for {sorted(set(leftover))}")
    return text


def _policy_values(p: Proposal) -> dict[str, object]:
    primary, floor_key, floor = _PRIMARY[p.kind]
    if floor is None:  # better than always predicting the most frequent class
        floor = round(p.majority_share + 0.005, 2)
    slices = f"\n# Metrics are also reported per value of these columns.\nslices: [{', '.join(p.slices)}]\n"
    return {
        "data_name": p.data_name,
        "rows": f"{p.rows:,}",
        "name": p.name,
        "task": p.task,
        "task_reason": p.task_reason,
        "data_source": p.data_source,
        "sample": SAMPLE_FILE,
        "sample_rows": f"{p.sample_rows:,}",
        "target": p.target,
        "min_rows": max(1, p.rows // 2),
        "split_comment": p.split_reason,
        "split": "\n".join(f"  {k}: {v}" for k, v in p.split.items()),
        "metrics": ", ".join(p.metrics),
        "slices": slices if p.slices else "",
        "primary": primary,
        "floor_key": floor_key,
        "floor": floor,
    }


def _ci_values(p: Proposal, project_dir: str) -> dict[str, object]:
    prefix = "" if project_dir == "." else f"{project_dir}/"
    watched = ["model/**", "tests/**", "shipyard.yaml", "schema.yaml", SAMPLE_FILE, "requirements.txt"]
    filters = [f"{prefix}{path}" for path in watched] + [".github/workflows/shipyard-*.yml"]
    return {
        "path_filters": "\n".join(f'      - "{f}"' for f in filters),
        "gitlab_changes": "\n".join(f'        - "{f}"' for f in filters[:-1] + [".gitlab-ci.yml"]),
        "project_dir": project_dir,
        "prefix": prefix,
        "python_version": PYTHON_VERSION,
        "sample": SAMPLE_FILE,
        "data_source": p.data_source,
        "cron": RETRAIN_CRON,
    }


def render_files(p: Proposal, *, project_dir: str = ".") -> tuple[dict[str, str], dict[str, str]]:
    """(project files, repository files): contents by path relative to the project folder and
    to the repository root. `project_dir` is the project folder relative to the repository root.
    """
    estimator = (
        "HistGradientBoostingRegressor" if p.task == "regression" else "HistGradientBoostingClassifier"
    )
    from shipyard import __version__

    project = {
        "shipyard.yaml": render("shipyard.yaml", _policy_values(p)),
        "model/__init__.py": render("model/__init__.py", {}),
        "model/features.py": render(
            "model/features.py", {"dropped": json.dumps(p.dropped), "datetimes": json.dumps(p.datetimes)}
        ),
        "model/train.py": render("model/train.py", {"estimator": estimator}),
        "requirements.txt": f"shipyard=={__version__}\n",
    }
    ci = _ci_values(p, project_dir)
    repository = {path: render(template, ci) for path, template in CI_FILES.items()}
    return project, repository


def existing(root: Path, paths: list[str]) -> list[str]:
    """The paths under `root` that exist already."""
    return [path for path in paths if (root / path).exists()]


def write_files(root: Path, files: Mapping[str, str]) -> list[Path]:
    """Write each file under `root`, creating folders; return the paths written."""
    written = []
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def ensure_ignored(root: Path, entries: tuple[str, ...] = (".shipyard/", "shipyard-reports/")) -> bool:
    """Add `entries` to `root/.gitignore` where missing (never removing a line); True if changed."""
    path = root / ".gitignore"
    lines = path.read_text().splitlines() if path.exists() else []
    missing = [e for e in entries if e not in lines and e.rstrip("/") not in lines]
    if not missing:
        return False
    header = (
        ["", "# Shipyard's local state and reports"] if lines else ["# Shipyard's local state and reports"]
    )
    path.write_text("\n".join([*lines, *header, *missing]) + "\n")
    return True
