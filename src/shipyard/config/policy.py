"""The `shipyard.yaml` policy file as pydantic models, validated before anything runs.

Structure is checked here (unknown keys, types, required fields); names that need
other layers (metric names, gate types and their parameters, entry points) are
checked by `shipyard.pipeline.lint` right after loading.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shipyard.core.tasks import Task

# MLflow's registered-model names, minus what it refuses only at registration: no leading '.'
# (so not '.', '..' or '..x'), no '/' or ':'.
MODEL_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")


def check_name(value: str | None) -> str | None:
    """A model name MLflow accepts, checked before any work (an error names the key)."""
    if value is not None and not MODEL_NAME.fullmatch(value):
        raise ValueError(
            "a model name must start with a letter, digit, '_' or '-' and contain only letters, "
            "digits, '_', '.' and '-' (no '/', no '..'); e.g. 'fraud-detector'"
        )
    return value


def check_inside_project(value: str | None) -> str | None:
    """A relative path must stay inside the project folder; an absolute path is taken as meant."""
    if value is None or posixpath.isabs(value.replace("\\", "/")):
        return value
    normal = posixpath.normpath(value.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        raise ValueError(
            "a relative path must stay inside the project folder; write an absolute path if the "
            "file really lives elsewhere"
        )
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DataConfig(_Section):
    """Where the data comes from and what is checked on it beyond the schema."""

    source: str | None = Field(None, description="CSV or Parquet file or folder, relative to the project")
    loader: str | None = Field(None, description="`module:function` returning a pandas DataFrame")
    sample: str | None = Field(None, description="small committed sample used by `shipyard smoke`")
    target: str = Field(description="name of the label column")
    schema_path: str = Field("schema.yaml", alias="schema", description="schema file kept in git")
    min_rows: int = Field(1, ge=0, description="fewer rows fail the volume check")
    max_rows: int | None = Field(None, ge=1, description="more rows fail the volume check")
    max_duplicate_fraction: float = Field(0.01, ge=0, le=1, description="share of duplicate rows allowed")
    min_class_fraction: float = Field(0.001, ge=0, le=0.5, description="rarest class share allowed")

    _paths = field_validator("source", "sample", "schema_path")(check_inside_project)

    @model_validator(mode="after")
    def _one_source(self) -> DataConfig:
        if (self.source is None) == (self.loader is None):
            raise ValueError("give exactly one of 'source' (a file path) or 'loader' (module:function)")
        return self


class EntrypointsConfig(_Section):
    """The user's code, as `module:function` references importable from the project folder."""

    features: str | None = Field(None, description="features(df) -> DataFrame; identity when absent")
    train: str = Field(description="train(X, y, params) -> fitted estimator")


class SplitConfig(_Section):
    method: Literal["random", "stratified", "time"] = "stratified"
    test_size: float = Field(0.2, gt=0, lt=1)
    column: str | None = Field(None, description="ordering column for the time split")
    seed: int = 42

    @model_validator(mode="after")
    def _time_needs_column(self) -> SplitConfig:
        if self.method == "time" and not self.column:
            raise ValueError("split method 'time' needs 'column' (the timestamp column)")
        return self


class SmokeConfig(_Section):
    params: dict[str, Any] = Field(default_factory=dict, description="overrides of `params` for smoke")


class GateConfig(BaseModel):
    """One gate: `type` picks the gate; every other key is a parameter of that gate."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str
    name: str | None = None
    required: bool = True

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @property
    def label(self) -> str:
        return self.name or self.type


class RegistryConfig(_Section):
    model_name: str | None = Field(None, description="registered model name; the project name if absent")
    tracking_uri: str | None = Field(
        None, description="MLflow tracking URI; MLFLOW_TRACKING_URI, then .shipyard/mlflow.db"
    )
    verify_key: str | None = Field(
        None, description="Ed25519 public key (PEM); unsigned or badly signed versions are refused"
    )
    artifact_location: str | None = Field(
        None,
        description="where model files go when tracking_uri is a database (postgresql://...): "
        "a folder or s3:// URL; an HTTP tracking server decides for itself",
    )
    request_timeout_s: int = Field(30, ge=1, le=600, description="timeout of one call to the tracking server")
    max_retries: int = Field(2, ge=0, le=10, description="retries of a failed call to the tracking server")

    _name = field_validator("model_name")(check_name)


class ModelFormatConfig(_Section):
    """How fitted models are saved: skops (with trusted types) by default, pickle only on request."""

    trusted_types: list[str] = Field(
        default_factory=list, description="extra types skops may load, e.g. 'my_pkg.Clip'"
    )
    allow_pickle: bool = Field(False, description="save and load pickle when skops cannot (unsafe)")

    @field_validator("trusted_types")
    @classmethod
    def _dotted(cls, value: list[str]) -> list[str]:
        bad = [t for t in value if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+", t)]
        if bad:
            raise ValueError(f"trusted types are dotted names like 'my_pkg.module.Class'; got {bad[0]!r}")
        return value


class StateConfig(_Section):
    """Where operational state lives; unset, all of it stays under .shipyard/ (no service)."""

    url: str | None = Field(
        None,
        description="SQLAlchemy URL of the state database (alias history, rollouts, retrain "
        "decisions, locks); SHIPYARD_STATE_URL, then .shipyard/shipyard.db",
    )
    object_store: str | None = Field(
        None,
        description="folder or s3:// URL where clones share the stage cache; SHIPYARD_OBJECT_STORE, "
        "then none (.shipyard/cache only)",
    )
    lease_s: int = Field(600, ge=10, description="a shared lock not renewed for this long is free again")
    logs_cache_days: float = Field(
        30.0,
        gt=0,
        description="readers keep the object store's log parts in .shipyard/logs-cache this many days "
        "(further back only while a reader's window asks for it)",
    )


class EnvironmentConfig(_Section):
    on_mismatch: Literal["warn", "fail"] = "warn"


class EvaluationConfig(_Section):
    latency_samples: int = Field(200, ge=10, description="single-row predictions timed for latency")
    warmup: int = Field(10, ge=0)
    throughput_batch: int = Field(1000, ge=1)


class ServingConfig(_Section):
    """`shipyard serve`: where it listens, how it batches, how it logs predictions."""

    host: str = Field("127.0.0.1", description="interface to bind; 0.0.0.0 exposes the server")
    port: int = Field(8000, ge=0, le=65535, description="TCP port; 0 picks a free one")
    workers: int = Field(1, ge=1, le=64, description="server processes sharing the port (about one per core)")
    batching: bool = Field(True, description="coalesce concurrent requests into one predict call")
    max_batch_rows: int = Field(2048, ge=1, description="most rows in one predict call")
    max_wait_ms: float = Field(
        10.0, ge=0, le=1000, description="cap of the adaptive wait for more rows under concurrency"
    )
    max_payload_bytes: int = Field(4_194_304, ge=1024, description="larger request bodies get 413")
    max_request_rows: int = Field(10_000, ge=1, description="more rows in one request get 413")
    check_ranges: bool = Field(True, description="refuse numbers outside the schema's minimum/maximum (422)")
    log_predictions: bool = Field(True, description="append inputs and outputs to the prediction log")
    log_flush_rows: int = Field(
        50_000, ge=1, description="turn a log's write-ahead file into a Parquet part every this many rows"
    )
    log_flush_interval_s: float = Field(
        2.0,
        gt=0,
        description="and at least this often; an answered row is on disk before its reply either way",
    )
    key_field: str = Field("key", description="JSON field holding the sticky canary key")
    poll_interval_s: float = Field(0.5, gt=0, description="how often --desired checks its file")
    desired_poll_s: float = Field(
        2.0, gt=0, le=300, description="how often --desired checks the state database for a newer revision"
    )
    header_timeout_s: float = Field(10.0, gt=0, description="close connections whose headers take longer")
    body_timeout_s: float = Field(30.0, gt=0, description="answer 408 when a body takes longer to arrive")
    keep_alive_s: int = Field(5, ge=1, description="close idle keep-alive connections after this")
    max_header_bytes: int = Field(65_536, ge=1024, description="close connections sending larger headers")
    max_feedback_items: int = Field(10_000, ge=1, description="more labels in one /feedback request get 413")
    feedback_labels_per_s: float = Field(
        1000.0, gt=0, description="labels per second per client (burst: max_feedback_items); over it 429"
    )
    feedback_retention_days: float = Field(
        30.0, gt=0, description="labels are accepted for requests served at most this long ago"
    )


class RolloutConfig(_Section):
    """`shipyard rollout`: canary steps, live analysis rules, the deploy file, notifications."""

    environment: str = Field(
        "production", pattern=r"^[A-Za-z0-9_.-]+$", description="deploy/<environment>.yaml is the deploy file"
    )
    steps: list[float] = Field(
        default_factory=lambda: [5.0, 25.0, 50.0, 100.0],
        min_length=1,
        description="canary traffic per step in percent, increasing, ending at 100; 0 = shadow step",
    )
    step_duration_s: float = Field(300.0, gt=0, description="least time each step runs before advancing")
    step_deadline_s: float | None = Field(
        None, gt=0, description="a step still undecided this long rolls back; default 4 x step_duration_s"
    )
    analysis_interval_s: float = Field(30.0, gt=0, description="how often the live window is analysed")
    min_requests: int = Field(50, ge=1, description="canary rows a step needs before it may advance")
    consecutive_violations: int = Field(2, ge=1, description="a rule fires after this many failed analyses")
    analysis: list[GateConfig] = Field(
        default_factory=lambda: [
            GateConfig(type="error_rate", max_increase=0.025),
            GateConfig(type="latency_ratio", max_ratio=1.3),
        ],
        description="gate configs evaluated on each live window (canary vs production)",
    )
    webhook_url: str | None = Field(None, description="Slack-style webhook: promotion, rollback, incident")
    git_commit: bool = Field(False, description="commit each change of the deploy file with git")
    database_url: str | None = Field(None, description="SQLAlchemy URL of rollout state; default audit DB")

    @model_validator(mode="after")
    def _check_steps(self) -> RolloutConfig:
        steps = self.steps
        increasing = all(a < b for a, b in zip(steps, steps[1:], strict=False))
        if not increasing or any(not 0 <= s <= 100 for s in steps):
            raise ValueError(f"steps must be increasing percentages in [0, 100]; got {steps}")
        if steps[-1] != 100:
            raise ValueError(f"the last step must be 100 (all traffic on the new version); got {steps[-1]:g}")
        if self.deadline_s < self.step_duration_s:
            raise ValueError(
                f"step_deadline_s ({self.deadline_s:g}) must be at least step_duration_s "
                f"({self.step_duration_s:g}): a step could never advance"
            )
        return self

    @property
    def deadline_s(self) -> float:
        """Seconds after which an undecided step rolls back."""
        return self.step_deadline_s if self.step_deadline_s is not None else 4 * self.step_duration_s


class RetrainConfig(_Section):
    """`shipyard retrain --if-needed` and `shipyard watch`: when to retrain, and what to do with a winner.

    Drift and degradation use the thresholds and window of the `monitoring` section.
    """

    schedule: str | None = Field(None, description="cron (UTC); fires when a tick passed since last training")
    min_new_labels: int | None = Field(None, ge=1, description="labelled feedback rows since last training")
    on_drift: bool = Field(False, description="fire when `shipyard monitor drift` fails (would exit 1)")
    on_degradation: bool = Field(False, description="fire when `shipyard monitor performance` alerts")
    data: str | None = Field(None, description="fresh training data; default data.source")
    on_pass: Literal["rollout", "register"] = Field(
        "register", description="after every gate passed: start a rollout, or only register"
    )
    interval_s: float = Field(300.0, gt=0, description="how often `shipyard watch` evaluates the triggers")

    _paths = field_validator("data")(check_inside_project)

    @model_validator(mode="after")
    def _valid_cron(self) -> RetrainConfig:
        if self.schedule is not None:
            from croniter import croniter

            if not croniter.is_valid(self.schedule):
                example = "e.g. '0 3 * * 1' for Mondays at 03:00 UTC"
                raise ValueError(f"schedule {self.schedule!r} is not a valid cron expression, {example}")
        return self


class DriftThresholds(_Section):
    """Effect sizes above which a column counts as drifted; `null` turns a test's verdict off."""

    psi: float | None = Field(0.2, ge=0, description="population stability index on reference deciles")
    wasserstein: float | None = Field(0.1, ge=0, description="Wasserstein-1 / reference standard deviation")
    ks: float | None = Field(None, ge=0, le=1, description="Kolmogorov-Smirnov statistic (largest CDF gap)")
    js: float | None = Field(None, ge=0, le=1, description="Jensen-Shannon distance (natural log)")
    unseen_share: float | None = Field(0.01, ge=0, le=1, description="share of values in unseen categories")
    null_share: float | None = Field(0.1, ge=0, le=1, description="rise of the share of nulls")
    use_p_value: bool = Field(
        False, description="drifted on a significant FDR-adjusted p-value alone, whatever the effect size"
    )
    severity: Literal["warn", "fail"] | None = Field(
        None, description="a drifted column warns or fails; default per monitoring.fail_on"
    )
    ignore: bool = Field(False, description="do not test this column")


class ConceptConfig(_Section):
    """`shipyard monitor performance`: detectors on the error stream of labelled predictions."""

    adwin_delta: float = Field(0.002, gt=0, lt=1, description="ADWIN confidence; smaller alarms less")
    ph_threshold: float = Field(40.0, gt=0, description="Page-Hinkley alarm threshold (lambda)")
    ph_delta: float = Field(0.015, ge=0, description="Page-Hinkley tolerated change (delta)")
    ph_min_instances: int = Field(30, ge=1, description="Page-Hinkley warm-up rows")
    ph_alpha: float = Field(
        1.0, gt=0, le=1, description="Page-Hinkley forgetting factor; 1 = none (river's default 0.9999)"
    )
    window: int = Field(500, ge=10, description="rows in each rolling metric window")
    max_metric_drop: float = Field(0.05, ge=0, description="rolling metric worse than offline by more alerts")


class MonitoringConfig(_Section):
    """`shipyard monitor`: drift thresholds (defaults, per feature, prediction) and concept drift."""

    window: str = Field("7d", pattern=r"^\d+[smhdw]$", description="how far back the prediction log is read")
    fdr_alpha: float = Field(0.05, gt=0, lt=1, description="Benjamini-Hochberg level for adjusted p-values")
    drift_share: float = Field(0.5, gt=0, le=1, description="dataset drift when this share of columns drift")
    fail_on: Literal["column", "dataset"] = Field(
        "column", description="column: any drifted column fails; dataset: only dataset drift fails"
    )
    min_rows: int = Field(100, ge=1, description="fewer current rows: verdict too_few_rows (exit 2)")
    thresholds: DriftThresholds = Field(default_factory=DriftThresholds, description="for every column")
    features: dict[str, DriftThresholds] = Field(default_factory=dict, description="overrides per column")
    prediction: DriftThresholds = Field(
        default_factory=lambda: DriftThresholds(severity="fail"), description="the model's score"
    )
    concept: ConceptConfig = Field(default_factory=ConceptConfig)


class StageResources(_Section):
    """What one stage of `shipyard run` asks of the Ray cluster (`executor: ray`); the local
    executor ignores it. Ray schedules a stage only on a node that has all of it."""

    num_cpus: float = Field(1, ge=0, description="CPUs reserved while the stage runs")
    num_gpus: float = Field(0, ge=0, description="GPUs reserved (fractions share one GPU)")
    memory: int | None = Field(None, ge=1, description="bytes of memory reserved; none by default")


class Policy(_Section):
    """The root of `shipyard.yaml`."""

    name: str
    task: Task = "classification"
    data: DataConfig
    entrypoints: EntrypointsConfig
    params: dict[str, Any] = Field(default_factory=dict)
    smoke: SmokeConfig = Field(default_factory=SmokeConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    metrics: list[str] = Field(default_factory=list)
    slices: list[str] = Field(default_factory=list)
    gates: list[GateConfig] = Field(default_factory=list)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    environment: EnvironmentConfig = Field(default_factory=EnvironmentConfig)
    serving: ServingConfig = Field(default_factory=ServingConfig)
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    retrain: RetrainConfig = Field(default_factory=RetrainConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    model_format: ModelFormatConfig = Field(default_factory=ModelFormatConfig)
    executor: Literal["local", "ray"] = Field(
        "local", description="where `shipyard run` runs its stages: this process, or Ray tasks"
    )
    resources: dict[str, StageResources] = Field(
        default_factory=dict, description="per stage name (load, validate, ..., register), for executor: ray"
    )

    _name = field_validator("name")(check_name)

    @property
    def model_name(self) -> str:
        return self.registry.model_name or self.name

    def params_for(self, smoke: bool) -> dict[str, Any]:
        return {**self.params, **self.smoke.params} if smoke else dict(self.params)
