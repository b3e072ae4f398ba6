"""The `shipyard.yaml` policy file as pydantic models, validated before anything runs.

Structure is checked here (unknown keys, types, required fields); names that need
other layers (metric names, gate types and their parameters, entry points) are
checked by `shipyard.pipeline.lint` right after loading.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shipyard.core.tasks import Task


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


class EnvironmentConfig(_Section):
    on_mismatch: Literal["warn", "fail"] = "warn"


class EvaluationConfig(_Section):
    latency_samples: int = Field(200, ge=10, description="single-row predictions timed for latency")
    warmup: int = Field(10, ge=0)
    throughput_batch: int = Field(1000, ge=1)


class Policy(_Section):
    """The root of `shipyard.yaml`."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
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
    environment: EnvironmentConfig = Field(default_factory=EnvironmentConfig)

    @property
    def model_name(self) -> str:
        return self.registry.model_name or self.name

    def params_for(self, smoke: bool) -> dict[str, Any]:
        return {**self.params, **self.smoke.params} if smoke else dict(self.params)
