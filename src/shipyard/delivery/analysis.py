"""Live analysis: the gates of `rollout.analysis`, evaluated on a window of the prediction log.

The candidate (the canary, or the shadow on a shadow step) and production are compared on
the same time window: each route's logged outputs become a `ModelOutputs`, its requests,
errors and model calls a `RouteSample` in `GateContext.traffic`, and the same gate classes
that judge a model offline judge it here, each with an interval at the window's sample size
(pass, fail, or wait for more data). Errors come from the log and from the servers' own
counters, whichever shows more, so a log that lost rows cannot hide them. Gates that need
labels (`metric_threshold`, `no_regression`, ...) see only the candidate's rows that have
feedback, with production's model scored on those same rows when a scorer is given.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.config.policy import GateConfig
from shipyard.core.results import CheckResult, Reason, Report, Status
from shipyard.delivery.counters import Counts
from shipyard.evaluation.outputs import ModelOutputs
from shipyard.evaluation.traffic import RouteSample, TrafficSample
from shipyard.gates.base import Gate, GateContext
from shipyard.gates.catalog import run_gates
from shipyard.gates.live import TRAFFIC_GATES
from shipyard.serving import predlog as log

if TYPE_CHECKING:
    import pandas as pd

#: scores production's model on raw input rows (the logged `input.*` columns)
Scorer = Callable[["pd.DataFrame"], ModelOutputs]
#: rows in the model call that scored a row (prediction log contract 2; absent in older logs)
BATCH_ROWS = getattr(log, "BATCH_ROWS", "batch_rows")


@dataclass(frozen=True)
class WindowAnalysis:
    """One analysis of a window: the gate report and the figures it was computed from."""

    report: Report
    requests: int
    enough: bool
    figures: dict[str, float] = field(default_factory=dict)

    def violated(self) -> list[CheckResult]:
        """Blocking failures that count towards a rollback (an inconclusive result does not)."""
        return [r for r in self.report.failures if r.reason is not Reason.INCONCLUSIVE]

    def waiting(self) -> list[CheckResult]:
        """Rules that have not enough data to decide yet: the step may not advance."""
        return [r for r in self.report.results if r.reason is Reason.NOT_ENOUGH_DATA]

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "enough": self.enough,
            "figures": self.figures,
            "report": self.report.to_dict(),
        }


def read_log(folder: Path, since: datetime, until: datetime | None = None) -> pd.DataFrame:
    """Rows of a Parquet log folder with `since <= ts < until`; empty when there is none."""
    import duckdb
    import pandas as pd

    if not any(folder.glob("**/*.parquet")):
        return pd.DataFrame()
    query = f"SELECT * FROM read_parquet(?, hive_partitioning=true, union_by_name=true) WHERE {log.TS} >= ?"
    params: list[Any] = [f"{folder}/**/*.parquet", since]
    if until is not None:
        query += f" AND {log.TS} < ?"
        params.append(until)
    with duckdb.connect() as conn:
        return conn.sql(query, params=params).to_arrow_table().to_pandas()


def route_sample(frame: pd.DataFrame, counts: Counts | None = None) -> RouteSample:
    """One route's requests, failed requests and model calls in a window of the log.

    A request failed when any of its rows has status `error`. When the server's counters
    (`counts`) show more failed requests than the log, their requests and errors are used.
    A model call is identified by its call time and batch size, which its rows share.
    """
    if frame.empty:
        requests = errors = 0
    else:
        requests = int(frame[log.REQUEST_ID].nunique())
        errors = int(frame.loc[frame[log.STATUS] == "error", log.REQUEST_ID].nunique())
    source = "log"
    if counts is not None and counts.errors > errors:
        requests, errors, source = max(counts.requests, errors), counts.errors, "server counters"
    ok = frame[frame[log.STATUS] == "ok"] if not frame.empty else frame
    if ok.empty or log.LATENCY_MS not in ok.columns:
        return RouteSample(requests, errors, error_source=source)
    if BATCH_ROWS in ok.columns and ok[BATCH_ROWS].notna().all():
        calls = ok.drop_duplicates([log.LATENCY_MS, BATCH_ROWS])
        rows = calls[BATCH_ROWS].to_numpy(dtype=float)
        return RouteSample(requests, errors, calls[log.LATENCY_MS].to_numpy(dtype=float), rows, source)
    calls = ok.drop_duplicates(log.LATENCY_MS)
    return RouteSample(requests, errors, calls[log.LATENCY_MS].to_numpy(dtype=float), None, source)


def figures_of(sample: RouteSample, prefix: str = "") -> dict[str, float]:
    """Requests, error rate and model-call time percentiles of one route, for the report."""
    figures = {"requests": float(sample.requests), "errors": float(sample.errors)}
    if sample.requests:
        figures["error_rate"] = sample.errors / sample.requests
    if len(sample.latency_ms):
        for q in (50, 95, 99):
            figures[f"latency_p{q}_ms"] = float(np.percentile(sample.latency_ms, q))
    return {f"{prefix}{k}": v for k, v in figures.items()}


def _classes(frame: pd.DataFrame) -> list[str]:
    return [c[len(log.PROBA_PREFIX) :] for c in frame.columns if c.startswith(log.PROBA_PREFIX)]


def outputs_of(frame: pd.DataFrame, task: str, classes: Sequence[str]) -> ModelOutputs:
    """The logged outputs of `ok` rows as `ModelOutputs` (labels as strings, like feedback)."""
    if task == "regression":
        return ModelOutputs(frame[log.PREDICTION].astype(float).to_numpy())
    columns = [f"{log.PROBA_PREFIX}{c}" for c in classes]
    score = frame[columns].to_numpy(dtype=float) if columns else None
    return ModelOutputs(frame[log.PREDICTION].astype(str).to_numpy(), score, tuple(classes))


def _inputs(frame: pd.DataFrame) -> pd.DataFrame:
    columns = [c for c in frame.columns if c.startswith(log.INPUT_PREFIX)]
    return frame[columns].rename(columns=lambda c: c[len(log.INPUT_PREFIX) :]).reset_index(drop=True)


def _agreement(candidate: pd.DataFrame, production: pd.DataFrame) -> tuple[float, int]:
    keys = [log.REQUEST_ID, log.ROW]
    pairs = candidate[[*keys, log.PREDICTION]].merge(production[[*keys, log.PREDICTION]], on=keys)
    if pairs.empty:
        return math.nan, 0
    return float((pairs[f"{log.PREDICTION}_x"] == pairs[f"{log.PREDICTION}_y"]).mean()), len(pairs)


def _skipped(config: GateConfig, message: str) -> CheckResult:
    return CheckResult(
        check=config.label,
        status=Status.SKIPPED,
        message=message,
        subject=config.type,
        reason=Reason.NOT_MEASURED,
        evidence={"gate_type": config.type},
    )


@dataclass(frozen=True)
class LiveWindow:
    """What to compare: the candidate route and version against production's version."""

    project_root: Path
    task: str
    log_dir: Path  # holds every server's predictions/ and feedback/ (`LogLocation.readable_root`)
    candidate_version: str
    baseline_version: str
    candidate_route: str = "canary"


@dataclass(frozen=True)
class CounterWindow:
    """The servers' counts per version since the step began and since the rollout began."""

    step: dict[str, Counts] = field(default_factory=dict)
    rollout: dict[str, Counts] = field(default_factory=dict)


def step_baseline(production_requests: int, candidate_requests: int, min_requests: int) -> bool:
    """Whether production's requests in the step's own window make its baseline: at least
    `min_requests` and a quarter of the candidate's. Else (the 100% step, where production
    only served the moments before the switch) production since the rollout began is used,
    so the comparison is not starved of production's side."""
    return production_requests >= max(min_requests, candidate_requests / 4)


def analyse(
    window: LiveWindow,
    gates: Sequence[tuple[GateConfig, Gate]],
    *,
    since: datetime,
    baseline_since: datetime,
    until: datetime | None = None,
    min_requests: int = 1,
    scorer: Scorer | None = None,
    counters: CounterWindow | None = None,
) -> WindowAnalysis:
    """Evaluate `gates` on the candidate's rows since `since` against production's.

    Production's rows come from the same window, or from `baseline_since` on when the window
    holds too few of them (`step_baseline`; e.g. on the 100% step). Fewer than `min_requests`
    candidate requests give an empty report with `enough=False`: nothing to judge yet.
    """
    import pandas as pd

    counters = counters or CounterWindow()
    frame = read_log(window.log_dir / log.PREDICTIONS_DIR, baseline_since, until)
    if frame.empty:
        frame = pd.DataFrame(columns=[log.TS, log.ROUTE, log.MODEL_VERSION, log.REQUEST_ID, log.STATUS])
    recent = frame[frame[log.TS] >= pd.Timestamp(since)]
    candidate = recent[
        (recent[log.ROUTE] == window.candidate_route)
        & (recent[log.MODEL_VERSION] == window.candidate_version)
    ]
    is_production = (frame[log.ROUTE] == "production") & (frame[log.MODEL_VERSION] == window.baseline_version)
    production = recent[is_production.loc[recent.index]]
    baseline_counts = counters.step
    if not step_baseline(
        production[log.REQUEST_ID].nunique(), candidate[log.REQUEST_ID].nunique(), min_requests
    ):
        production, baseline_counts = frame[is_production], counters.rollout
    traffic = TrafficSample(
        route_sample(candidate, counters.step.get(window.candidate_version)),
        route_sample(production, baseline_counts.get(window.baseline_version)),
    )
    figures = {**figures_of(traffic.candidate), **figures_of(traffic.baseline, "baseline_")}
    requests = traffic.candidate.requests
    if requests < min_requests:
        return WindowAnalysis(Report.of("rules", []), requests, False, figures)
    figures["shadow_agreement"], pairs = (
        _agreement(candidate, production) if window.candidate_route == "shadow" else (math.nan, 0)
    )
    figures["shadow_pairs"] = float(pairs)  # 0: no pairs, the shadow rule is skipped
    ok_candidate = candidate[candidate[log.STATUS] == "ok"]
    ok_production = production[production[log.STATUS] == "ok"]
    classes = _classes(ok_candidate.dropna(axis=1, how="all")) if window.task == "classification" else []
    context = GateContext(
        task=window.task,
        y_true=np.full(len(ok_candidate), None, dtype=object),
        candidate=outputs_of(ok_candidate, window.task, classes),
        metrics={},
        baseline=outputs_of(ok_production, window.task, classes) if len(ok_production) else None,
        baseline_version=window.baseline_version,
        performance=figures,
        project_root=window.project_root,
        traffic=traffic,
    )
    by_label = {id(g): r for g, r in _labelled(window, gates, ok_candidate, classes, baseline_since, scorer)}
    results: list[CheckResult] = []
    for config, gate in gates:
        if config.type in TRAFFIC_GATES:
            results += run_gates([(config, gate)], context).results
        else:
            results.append(by_label[id(gate)])
    return WindowAnalysis(Report.of("rules", results), requests, True, figures)


def _labelled(
    window: LiveWindow,
    gates: Sequence[tuple[GateConfig, Gate]],
    candidate: pd.DataFrame,
    classes: Sequence[str],
    since: datetime,
    scorer: Scorer | None,
) -> list[tuple[Gate, CheckResult]]:
    """Results of the gates that need labels, on the candidate's rows that have feedback."""
    label_gates = [(c, g) for c, g in gates if c.type not in TRAFFIC_GATES]
    if not label_gates:
        return []
    feedback = read_log(window.log_dir / log.FEEDBACK_DIR, since)
    keys = [log.REQUEST_ID, log.ROW]
    if feedback.empty or candidate.empty:
        rows = candidate.iloc[0:0]
    else:
        labels = feedback.drop_duplicates(keys, keep="last")[[*keys, log.LABEL]]
        rows = candidate.merge(labels, on=keys)
    if rows.empty:
        message = "no feedback labels for the candidate's rows in this window yet"
        return [(g, _skipped(c, message)) for c, g in label_gates]
    y_true = rows[log.LABEL].to_numpy()
    if window.task == "regression":
        y_true = y_true.astype(float)
    baseline = scorer(_inputs(rows)) if scorer is not None else None
    if baseline is not None and window.task == "classification":
        baseline = ModelOutputs(
            np.asarray(baseline.y_pred).astype(str),
            baseline.y_score,
            tuple(str(c) for c in baseline.classes),
        )
    ctx = GateContext(
        task=window.task,
        y_true=y_true,
        candidate=outputs_of(rows, window.task, classes),
        metrics={},
        baseline=baseline,
        baseline_version=window.baseline_version if baseline is not None else None,
        project_root=window.project_root,
    )
    report = run_gates(label_gates, ctx)
    return [(g, r) for (_, g), r in zip(label_gates, report.results, strict=True)]
