"""The run report: one versioned JSON document per run, which the Markdown and HTML views render.

`build_run_report` is pure: it takes the run's JSON summary (`RunOutcome.to_dict()`, or
the same keys rebuilt from a registered version's stored reports) plus what the caller
knows about the project and the production model, and returns a dict that follows
`run_report.schema.json` (`schema_version` 1). Keys are only ever added in version 1;
a renamed or removed key would be version 2.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from shipyard.core.results import _jsonable

SCHEMA_VERSION = 1
SCHEMA_FILE = "run_report.schema.json"


def run_report_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every run report follows."""
    return json.loads(resources.files("shipyard.reports").joinpath(SCHEMA_FILE).read_text())


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _gate_results(summary: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((summary.get("gate_report") or {}).get("results", []))


def _comparisons(results: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every statistical comparison recorded by the gates (`evidence.comparisons`), with its gate."""
    rows = []
    for result in results:
        for item in (result.get("evidence") or {}).get("comparisons") or []:
            if isinstance(item, Mapping):
                rows.append({"gate": result.get("check"), **item})
    return rows


def _bootstrap_evidence(results: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The `no_regression` evidence per metric (candidate and baseline values, interval)."""
    found: dict[str, Mapping[str, Any]] = {}
    for result in results:
        evidence = result.get("evidence") or {}
        if "candidate_value" in evidence and "interval_low" in evidence:
            found.setdefault(str(evidence.get("metric", result.get("subject"))), evidence)
    return found


def _baseline_version(baseline: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> str | None:
    if baseline.get("version") is not None:
        return str(baseline["version"])
    for result in results:
        version = (result.get("evidence") or {}).get("baseline_version")
        if version is not None:
            return str(version)
    return None


def metric_rows(
    metrics: Mapping[str, Any],
    baseline_metrics: Mapping[str, Any],
    results: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """One row per metric: candidate, production, delta (candidate - production) and, where a
    gate measured it, the interval of the delta, its test and p-values.

    The interval comes from a statistics gate's overall comparison when present, else
    from the `no_regression` bootstrap; without either the delta has no interval.
    """
    overall = {
        str(c.get("metric")): c for c in _comparisons(results) if c.get("slice") in (None, "", "overall")
    }
    bootstrap = _bootstrap_evidence(results)
    rows = []
    for name in dict.fromkeys([*metrics, *overall, *bootstrap]):
        row: dict[str, Any] = {
            "metric": name,
            "candidate": _number(metrics.get(name)),
            "production": _number(baseline_metrics.get(name)),
            "ci_low": None,
            "ci_high": None,
            "confidence": None,
            "test": None,
            "p_value": None,
            "p_adjusted": None,
            "verdict": None,
            "source": "metrics",
        }
        if name in overall:
            c = overall[name]
            row.update(
                candidate=_number(c.get("candidate")) if row["candidate"] is None else row["candidate"],
                production=_number(c.get("baseline")) if row["production"] is None else row["production"],
                ci_low=_number(c.get("ci_low")),
                ci_high=_number(c.get("ci_high")),
                confidence=_number(c.get("confidence")),
                test=c.get("test"),
                p_value=_number(c.get("p_value")),
                p_adjusted=_number(c.get("p_adjusted")),
                verdict=c.get("verdict"),
                source=str(c.get("gate") or "comparisons"),
            )
        elif name in bootstrap:
            e = bootstrap[name]
            row.update(
                candidate=row["candidate"] if row["candidate"] is not None else _number(e["candidate_value"]),
                production=_number(e.get("baseline_value"))
                if row["production"] is None
                else row["production"],
                ci_low=_number(e.get("interval_low")),
                ci_high=_number(e.get("interval_high")),
                confidence=_number(e.get("interval_confidence")),
                test="paired bootstrap",
                source="no_regression",
            )
        candidate, production = row["candidate"], row["production"]
        delta = None if candidate is None or production is None else candidate - production
        row["delta"] = delta if delta is None or math.isfinite(delta) else None
        rows.append(row)
    return rows


def _provenance(provenance: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("git_commit", "git_branch", "git_dirty", "data_digest", "run_id", "registered_at", "seed")
    return {key: provenance.get(key) for key in keys}


def build_run_report(
    summary: Mapping[str, Any],
    *,
    project: str,
    model: str,
    baseline: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """The run report of one run.

    `summary` has the keys of `RunOutcome.to_dict()` (`version`, `verdict`, `stages`,
    `data_report`, `gate_report`, `evaluation`; a run stopped by invalid data has no
    evaluation). `baseline` is what the gate stage recorded of production (`version`,
    `metrics`, `curves`), or None: the production version and values are then taken
    from the gates' evidence where they compared with it. `provenance` holds the git and
    data digests (`git_commit`, `git_branch`, `git_dirty`, `data_digest`, `run_id`,
    `registered_at`, `seed`); missing keys are null.
    """
    baseline = dict(baseline or {})
    results = _gate_results(summary)
    evaluation = dict(summary.get("evaluation") or {})
    baseline_metrics = dict(baseline.get("metrics") or {})
    production = _baseline_version(baseline, results)
    rows = metric_rows(evaluation.get("metrics") or {}, baseline_metrics, results)
    if not baseline_metrics:
        baseline_metrics = {r["metric"]: r["production"] for r in rows if r["production"] is not None}
    report = {
        "schema_version": SCHEMA_VERSION,
        "kind": "run",
        "project": project,
        "model": model,
        "version": summary.get("version"),
        "verdict": summary.get("verdict"),
        "new_version": bool(summary.get("new_version", False)),
        "generated_at": (generated_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "provenance": _provenance(provenance or {}),
        "stages": list(summary.get("stages") or []),
        "data_report": summary.get("data_report"),
        "gate_report": summary.get("gate_report"),
        "evaluation": evaluation,
        "baseline": None
        if production is None and not baseline_metrics
        else {"version": production, "metrics": baseline_metrics, "curves": baseline.get("curves") or {}},
        "metrics": rows,
        "comparisons": _comparisons(results),
        "model_format": _model_format(summary.get("model_format")),
    }
    return _jsonable(report)


def _model_format(recorded: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """How the model is saved and whether pickle was allowed: shown in every report."""
    if not recorded:
        return None
    return {
        "format": recorded.get("format"),
        "allow_pickle": bool(recorded.get("allow_pickle")),
        "signed": bool(recorded.get("signed")),
    }


def slice_comparisons(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The recorded comparisons of one slice (not the overall test split) with production."""
    return [c for c in report.get("comparisons") or [] if c.get("slice") not in (None, "", "overall")]


def plotted_metrics(report: Mapping[str, Any]) -> list[str]:
    """The report's metrics, those a gate checked first (the ones a reader cares about)."""
    names = [r["metric"] for r in report.get("metrics") or []]
    gated = [r.get("subject") for r in (report.get("gate_report") or {}).get("results", [])]
    return sorted(names, key=lambda name: name not in gated)


def behaviour_failures(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Gate results that failed and carry examples (failing rows or cases), in run order."""
    results = (report.get("gate_report") or {}).get("results", [])
    return [r for r in results if r.get("status") == "failed" and r.get("examples")]


def example_columns(examples: Sequence[Any], limit: int = 12) -> list[str]:
    """The keys of a list of example dicts, in first-seen order (at most `limit`)."""
    columns: dict[str, None] = {}
    for example in examples:
        if isinstance(example, Mapping):
            columns.update(dict.fromkeys(str(k) for k in example))
    return list(columns)[:limit] or ["example"]
