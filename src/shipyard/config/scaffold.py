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
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.config import _proposed_gates as proposed
from shipyard.config import _thresholds as limits
from shipyard.config._data_traits import (
    SensitiveColumn,
    TimeColumn,
    safe_name,
    sensitive_columns,
    time_column,
)
from shipyard.config._proposed_gates import TEST_SIZE, Gate
from shipyard.config.project import STATE_DIR
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
# The metric the no_regression gate compares with production.
_PRIMARY = {"binary": "average_precision", "multiclass": "accuracy", "regression": "r2"}


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
    data_checks: dict[str, object] = field(default_factory=dict)
    data_reasons: dict[str, str] = field(default_factory=dict)
    sensitive: list[SensitiveColumn] = field(default_factory=list)
    gates: list[Gate] = field(default_factory=list)
    majority_share: float = 0.0  # of the most frequent class (classification)


def project_name(folder: Path) -> str:
    """A valid project name from a folder name (letters, digits, `_`, `-`)."""
    return safe_name(folder.resolve().name) or "model"


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


def sample_of(frame: pd.DataFrame, rows: int = SAMPLE_ROWS) -> pd.DataFrame:
    """A seeded random sample in the data's order: the first rows may all be one period or class."""
    return frame.sample(n=min(rows, len(frame)), random_state=0).sort_index()


def _split(
    frame: pd.DataFrame, sample: pd.DataFrame, target: str, task: str
) -> tuple[dict[str, object], str, TimeColumn | None]:
    when = time_column(frame, target)
    if when is not None:
        split: dict[str, object] = {"method": "time", "column": when.name, "test_size": TEST_SIZE}
        return (
            split,
            f"# {when.reason}: hold out the latest quarter, so the model is judged on the future.",
            when,
        )
    if task == "classification" and sample[target].value_counts().min() >= 2:
        return (
            {"method": "stratified", "test_size": TEST_SIZE},
            "# Hold out a quarter, class shares kept.",
            None,
        )
    return {"method": "random", "test_size": TEST_SIZE}, "# Hold out a random quarter of the rows.", None


def _data_checks(
    frame: pd.DataFrame, sample: pd.DataFrame, target: str, task: str
) -> tuple[dict[str, object], dict[str, str]]:
    from shipyard.data.proposals import propose_max_duplicate_fraction, propose_min_rows

    rows = len(frame)
    checks: dict[str, object] = {"min_rows": propose_min_rows(rows)}
    reasons = {
        "min_rows": f"A batch with fewer rows is an incomplete export (a tenth of today's {rows:,} rows, "
        "at most 100: the committed sample and a normal batch pass). Set it to your smallest normal batch."
    }
    allowed = max(propose_max_duplicate_fraction(frame), propose_max_duplicate_fraction(sample))
    checks["max_duplicate_fraction"] = allowed
    repeated = float(frame.duplicated().mean()) if rows else 0.0
    reasons["max_duplicate_fraction"] = (
        f"{repeated:.1%} of today's rows repeat another row; allowed: 1.5 times its 99.9% upper bound."
        if allowed > 0.01
        else "Rows do not repeat today; more than 1% repeated rows means a duplicated export."
    )
    if task == "classification":
        rarest = min(
            float(frame[target].value_counts(normalize=True).min()),
            float(sample[target].value_counts(normalize=True).min()),
        )
        batch = max(int(checks["min_rows"]), rows // 5)  # type: ignore[call-overload]
        checks["min_class_fraction"] = limits.min_class_fraction(rarest, batch)
        reasons["min_class_fraction"] = (
            f"The rarest class is {rarest:.1%} of the rows; a batch of {batch:,} rows falls below this "
            "share by chance once in 1,000."
        )
    return checks, reasons


def propose(
    frame: pd.DataFrame, *, target: str, data_source: str, name: str, task: str | None = None
) -> Proposal:
    """Choose task, split, data checks, metrics, slices and gates for `frame`, so that the
    data passes its own policy; `ConfigError` if `target` is missing."""
    import difflib

    import pandas as pd

    from shipyard.data.schema import require_families

    if target not in frame.columns:
        close = difflib.get_close_matches(target, [str(c) for c in frame.columns], n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(
            f"--target: column '{target}' is not in the data.{hint} "
            f"Columns: {', '.join(map(str, frame.columns))}."
        )
    require_families(frame)
    inferred, reason = infer_task(frame[target])
    if task is None:
        task = inferred
    else:
        reason = f"{task.capitalize()}: given with --task"
    kind = (
        "regression" if task == "regression" else ("binary" if frame[target].nunique() <= 2 else "multiclass")
    )
    sample = sample_of(frame)
    split, split_reason, when = _split(frame, sample, target, task)
    datetimes = [str(c) for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    if when is not None and when.kind == "text_date":
        datetimes.append(when.name)
    dropped = _identifiers(frame, target)
    sensitive = [s for s in sensitive_columns(frame, target) if s.name not in dropped]
    people = [s.name for s in sensitive]
    slices = people[:MAX_SLICES] + [
        str(c)
        for c in frame.columns
        if c != target
        and c not in dropped
        and c not in people
        and not pd.api.types.is_float_dtype(frame[c])
        and not pd.api.types.is_datetime64_any_dtype(frame[c])
        and str(c) not in datetimes
        and 2 <= frame[c].nunique() <= MAX_SLICE_VALUES
    ]
    checks, check_reasons = _data_checks(frame, sample, target, task)
    gates = [
        *proposed.quality_gates(frame, target, kind),
        proposed.contract_gate(frame, target, kind),
        *proposed.people_gates(frame, target, kind, sensitive, int(len(frame) * TEST_SIZE)),
        proposed.performance_gate(),
    ]
    return Proposal(
        name=name,
        task=task,
        task_reason=reason,
        target=target,
        kind=kind,
        data_source=data_source,
        data_name=Path(data_source).name,
        rows=len(frame),
        sample_rows=len(sample),
        split=split,
        split_reason=split_reason,
        metrics=_METRICS[kind],
        slices=slices[:MAX_SLICES],
        dropped=dropped,
        datetimes=datetimes,
        data_checks=checks,
        data_reasons=check_reasons,
        sensitive=sensitive,
        gates=gates,
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


def _gate_block(gate: Gate) -> str:
    comment = "\n".join(f"  # {line}" for line in textwrap.wrap(gate.comment, 92))
    first, *rest = gate.lines
    body = "\n".join([f"  - {first}", *(f"    {line}" for line in rest)])
    return f"{comment}\n{body}\n"


def _sensitive_comment(p: Proposal) -> str:
    if not p.sensitive:
        return ""
    names = ", ".join(f"'{s.name}' ({s.reason})" for s in p.sensitive)
    text = (
        f"Sensitive attributes found: {names}. They describe people, not their case: model/features.py "
        "leaves them out of the model's inputs, an invariance gate checks that changing them moves "
        "no score, and (binary tasks) a fairness gate compares decisions across their groups; "
        "they are also slices. Remove a column from SENSITIVE in model/features.py only if the law "
        "and your use allow deciding on it."
    )
    return "\n".join(f"# {line}" for line in textwrap.wrap(text, 94)) + "\n"


def _policy_values(p: Proposal) -> dict[str, object]:
    slices = f"\n# Metrics are also reported per value of these columns.\nslices: [{', '.join(p.slices)}]\n"
    checks = "\n".join(
        "".join(f"  # {line}\n" for line in textwrap.wrap(p.data_reasons[key], 92)) + f"  {key}: {value}"
        for key, value in p.data_checks.items()
    )
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
        "data_checks": checks,
        "split_comment": p.split_reason,
        "split": "\n".join(f"  {k}: {v}" for k, v in p.split.items()),
        "metrics": ", ".join(p.metrics),
        "slices": slices if p.slices else "",
        "sensitive_comment": _sensitive_comment(p),
        "gates": "\n".join(_gate_block(g) for g in p.gates),
        "primary": _PRIMARY[p.kind],
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


def requirements(shipyard_requirement: str | None) -> str:
    """requirements.txt: Shipyard from a pinned source (never a bare name a package index
    could serve from anyone), then the user's dependencies."""
    if shipyard_requirement:
        head = (
            "# Shipyard from a pinned source (docs/ci.md): a bare name could come from anyone.\n"
            f"{shipyard_requirement}\n"
        )
    else:
        head = (
            "# Shipyard: add ONE line that pins its source (docs/ci.md), for example\n"
            "#   shipyard @ git+https://github.com/ORG/shipyard@<commit sha>\n"
            "#   ./vendor/shipyard-0.1.0-py3-none-any.whl\n"
            "# never a bare name (shipyard==...), which a package index could serve from anyone.\n"
        )
    return head + "# Your model's own dependencies below.\n"


def render_files(
    p: Proposal, *, project_dir: str = ".", shipyard_requirement: str | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """(project files, repository files): contents by path relative to the project folder and
    to the repository root. `project_dir` is the project folder relative to the repository root;
    `shipyard_requirement` the requirements.txt line that installs Shipyard in CI.
    """
    estimator = (
        "HistGradientBoostingRegressor" if p.task == "regression" else "HistGradientBoostingClassifier"
    )
    project = {
        "shipyard.yaml": render("shipyard.yaml", _policy_values(p)),
        "model/__init__.py": render("model/__init__.py", {}),
        "model/features.py": render(
            "model/features.py",
            {
                "dropped": json.dumps(p.dropped),
                "sensitive": json.dumps([s.name for s in p.sensitive]),
                "datetimes": json.dumps(p.datetimes),
            },
        ),
        "model/train.py": render("model/train.py", {"estimator": estimator}),
        "requirements.txt": requirements(shipyard_requirement),
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


def ensure_ignored(root: Path, entries: tuple[str, ...] = (f"{STATE_DIR}/", "shipyard-reports/")) -> bool:
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
