"""ModelRegistry on a real MLflow SQLite store: registering, lookup, aliases, history, downloads."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from shipyard.errors import (
    AliasConflict,
    ConfigError,
    IntegrityError,
    ModelVersionNotFound,
    RegistryError,
)
from shipyard.registry import ModelRegistry, ModelVersionInfo, build_manifest


def register(
    registry: ModelRegistry,
    model_dir: Path,
    *,
    approved: bool = True,
    key: str = "k1",
    metrics: dict[str, float] | None = None,
) -> ModelVersionInfo:
    return registry.register(
        model_dir,
        params={"max_depth": 3, "note": "x" * 7000},
        metrics={"roc_auc": 0.91, "brier": math.nan} if metrics is None else metrics,
        tags={"git_sha": "abc123"},
        approved=approved,
        reports={"gates.md": "# all gates passed", "data/checks.json": "{}"},
        content_key=key,
        actor="ci-bot",
    )


def test_importing_the_package_does_not_import_mlflow() -> None:
    code = "import sys, shipyard.registry; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_approved_version_gets_candidate_tags_and_manifest(
    registry: ModelRegistry, model_dir: Path, store_dir: Path
) -> None:
    before = datetime.now(UTC)
    info = register(registry, model_dir)
    assert info.version == "1"
    assert info.aliases == ("candidate",)
    assert info.verdict == "approved" and info.approved
    assert info.content_key == "k1"
    assert info.tags == {"git_sha": "abc123"}
    assert info.manifest == build_manifest(model_dir)
    assert "shipyard.json" in info.manifest
    assert info.metrics == {"roc_auc": 0.91}
    assert info.params["max_depth"] == "3"
    assert info.params["note"] == "x" * 6000
    assert before.replace(microsecond=0) <= info.created_at <= datetime.now(UTC)
    artifacts = store_dir / "artifacts" / registry.model_name
    assert info.source.startswith(artifacts.as_uri())
    run_dir = artifacts / info.run_id / "artifacts"
    assert (run_dir / "reports" / "gates.md").read_text() == "# all gates passed"
    assert (run_dir / "reports" / "data" / "checks.json").is_file()
    (event,) = registry.history()
    assert (event.alias, event.from_version, event.to_version) == ("candidate", None, "1")
    assert (event.actor, event.reason) == ("ci-bot", "passed all required gates")


def test_rejected_version_never_gets_an_alias(registry: ModelRegistry, model_dir: Path) -> None:
    info = register(registry, model_dir, approved=False)
    assert (info.verdict, info.aliases, info.approved) == ("rejected", (), False)
    assert registry.history() == []


def test_find_by_content_key_finds_the_newest_match(registry: ModelRegistry, model_dir: Path) -> None:
    assert registry.find_by_content_key("k1") is None
    register(registry, model_dir, key="k1")
    register(registry, model_dir, key="k2", approved=False)
    register(registry, model_dir, key="k1")
    found = registry.find_by_content_key("k1")
    assert found is not None and found.version == "3"
    assert registry.find_by_content_key("k2").version == "2"
    assert registry.find_by_content_key("k3") is None
    with pytest.raises(ConfigError, match="content key"):
        registry.find_by_content_key("x' or name != '")


def test_get_by_number_alias_and_latest(registry: ModelRegistry, model_dir: Path) -> None:
    register(registry, model_dir, key="a")
    register(registry, model_dir, key="b", approved=False)
    assert registry.get("1").content_key == "a"
    assert registry.get("@candidate").version == "1"
    assert registry.get("candidate").version == "1"
    assert registry.get("latest").version == "2"
    assert [v.version for v in registry.versions()] == ["2", "1"]


def test_unknown_ref_lists_versions_and_aliases(registry: ModelRegistry, model_dir: Path) -> None:
    with pytest.raises(ModelVersionNotFound, match="No model named"):
        registry.get("1")
    assert registry.versions() == []
    register(registry, model_dir, key="a")
    register(registry, model_dir, key="b", approved=False)
    with pytest.raises(ModelVersionNotFound) as info:
        registry.get("@production")
    assert str(info.value) == (
        f"Model '{registry.model_name}' has no version or alias '@production'. "
        "Versions: 2, 1; aliases: @candidate -> 1. Pass one of these."
    )
    with pytest.raises(ModelVersionNotFound, match="alias '7'"):
        registry.get("7")


def test_promote_moves_production_and_keeps_previous(registry: ModelRegistry, model_dir: Path) -> None:
    for key in ("a", "b", "c"):
        register(registry, model_dir, key=key)
    (first,) = registry.promote("1", "production", actor="alice", report="{}")
    assert (first.alias, first.from_version, first.to_version) == ("production", None, "1")
    assert first.report == "{}"
    moved = registry.promote("@candidate", "production", actor="bob", reason="better auc")
    assert [(e.alias, e.from_version, e.to_version) for e in moved] == [
        ("production", "1", "3"),
        ("previous", None, "1"),
    ]
    assert {e.actor for e in moved} == {"bob"} and {e.reason for e in moved} == {"better auc"}
    assert registry.get("production").aliases == ("candidate", "production")
    assert registry.get("previous").version == "1"
    assert registry.promote("3", "production", actor="bob") == []
    assert len(registry.history(alias="production")) == 2


def test_rejected_version_is_refused_unless_forced_with_reason(
    registry: ModelRegistry, model_dir: Path
) -> None:
    register(registry, model_dir, approved=False)
    with pytest.raises(AliasConflict, match="rejected by its gates"):
        registry.promote("1", "production", actor="alice")
    for reason in (None, "  "):
        with pytest.raises(ConfigError, match="non-empty 'reason'"):
            registry.promote("1", "production", actor="alice", force=True, reason=reason)
    assert registry.history() == []
    (event,) = registry.promote("1", "production", actor="alice", force=True, reason="hotfix INC-42")
    assert event.reason == "forced despite failed gates: hotfix INC-42"
    assert registry.get("production").version == "1"


@pytest.mark.parametrize("alias", ["latest", "v2", "bad alias", "previous"])
def test_invalid_or_managed_aliases_are_refused(registry: ModelRegistry, model_dir: Path, alias: str) -> None:
    with pytest.raises(ConfigError, match=repr(alias) if alias != "previous" else "moved by"):
        registry.promote("1", alias, actor="alice")


def test_history_and_version_at_use_real_timestamps(registry: ModelRegistry, model_dir: Path) -> None:
    register(registry, model_dir, key="a")
    register(registry, model_dir, key="b")
    start = datetime.now(UTC)
    registry.promote("1", "production", actor="alice")
    between = datetime.now(UTC)
    registry.promote("2", "production", actor="alice")
    end = datetime.now(UTC)
    events = registry.history(alias="production")
    assert [e.to_version for e in events] == ["1", "2"]
    assert start <= events[0].at <= between <= events[1].at <= end
    assert registry.version_at("production", start.replace(year=2000)) is None
    assert registry.version_at("production", between) == "1"
    assert registry.version_at("production", end) == "2"
    assert registry.version_at("previous", end) == "1"


def test_rollback_restores_previous_and_removes_it(registry: ModelRegistry, model_dir: Path) -> None:
    register(registry, model_dir, key="a")
    register(registry, model_dir, key="b")
    with pytest.raises(AliasConflict, match="no 'previous' version"):
        registry.rollback(actor="oncall", reason="latency")
    registry.promote("1", "production", actor="alice")
    registry.promote("2", "production", actor="alice")
    events = registry.rollback(actor="oncall", reason="p99 latency doubled")
    assert [(e.alias, e.from_version, e.to_version) for e in events] == [
        ("production", "2", "1"),
        ("previous", "1", None),
    ]
    assert registry.get("production").version == "1"
    with pytest.raises(ModelVersionNotFound):
        registry.get("previous")
    assert registry.version_at("previous", datetime.now(UTC)) is None
    with pytest.raises(AliasConflict):
        registry.rollback(actor="oncall", reason="again")
    with pytest.raises(ConfigError, match="Only 'production'"):
        registry.rollback("candidate", actor="oncall", reason="x")


def test_download_verifies_and_caches(registry: ModelRegistry, model_dir: Path, tmp_path: Path) -> None:
    register(registry, model_dir)
    local = registry.download("@candidate", tmp_path / "cache")
    assert local == tmp_path / "cache" / "1"
    assert build_manifest(local) == build_manifest(model_dir)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["1"]
    assert registry.download("1", tmp_path / "cache") == local
    default = registry.download("1")
    assert default == registry.artifact_root.parent / "models-cache" / registry.model_name / "1"


def test_tampered_cached_copy_is_refused(registry: ModelRegistry, model_dir: Path, tmp_path: Path) -> None:
    register(registry, model_dir)
    local = registry.download("1", tmp_path)
    target = local / "python_model.pkl"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="'python_model.pkl' does not match") as info:
        registry.download("1", tmp_path)
    assert f"Cached copy: {local}" in str(info.value)


def test_tampered_stored_artifact_is_refused(
    registry: ModelRegistry, model_dir: Path, tmp_path: Path
) -> None:
    info = register(registry, model_dir)
    stored = Path(info.source.removeprefix("file://")) / "MLmodel"
    stored.write_text(stored.read_text() + "\n# injected\n")
    with pytest.raises(IntegrityError, match="'MLmodel' does not match its registered sha256"):
        registry.download("1", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_large_manifest_lives_in_an_artifact_pinned_by_its_sha256(
    registry: ModelRegistry, model_dir: Path, tmp_path: Path
) -> None:
    big = tmp_path / "big"
    big.mkdir()
    for path in model_dir.iterdir():
        (big / path.name).write_bytes(path.read_bytes())
    for i in range(60):
        (big / f"shard-{i:03d}-{'w' * 40}.bin").write_bytes(bytes([i]))
    info = register(registry, big)
    assert info.manifest == build_manifest(big)
    assert build_manifest(registry.download("1", tmp_path / "dl")) == info.manifest
    run_dir = Path(info.source.removeprefix("file://")).parent
    stored = run_dir / "shipyard" / "manifest.json"
    stored.write_text(stored.read_text().replace("shard-000", "shard-00x"))
    with pytest.raises(IntegrityError, match="manifest artifact"):
        registry.get("1")


def test_input_errors_are_caught_before_anything_is_written(
    registry: ModelRegistry, model_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="no MLmodel file"):
        register(registry, tmp_path)
    with pytest.raises(ConfigError, match="'shipyard.verdict' is set by Shipyard"):
        registry.register(
            model_dir,
            params={},
            metrics={},
            tags={"shipyard.verdict": "approved"},
            approved=True,
            reports={},
            content_key="k",
            actor="a",
        )
    with pytest.raises(ConfigError, match="Report file name '../x.md'"):
        registry.register(
            model_dir,
            params={},
            metrics={},
            tags={},
            approved=True,
            reports={"../x.md": ""},
            content_key="k",
            actor="a",
        )
    with pytest.raises(ConfigError, match="Metric 'auc' must be a number. Got 'high'"):
        register(registry, model_dir, metrics={"auc": "high"})  # type: ignore[dict-item]
    assert registry.versions() == []


def _runs(registry: ModelRegistry) -> list:
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(registry.tracking_uri)
    experiment = client.get_experiment_by_name(registry.model_name)
    return client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL)


def test_failed_run_logging_leaves_no_version_and_no_live_run(
    registry: ModelRegistry, model_dir: Path
) -> None:
    with pytest.raises(RegistryError, match="Nothing was registered"):
        register(registry, model_dir, metrics={"bad name!": 1.0})
    assert registry.versions() == []
    (run,) = _runs(registry)
    assert (run.info.status, run.info.lifecycle_stage) == ("FAILED", "deleted")


def test_failure_after_version_creation_removes_it_and_restores_the_alias(
    store_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    audit_url = f"sqlite:///{tmp_path / 'audit.db'}"
    registry = ModelRegistry(f"sqlite:///{store_dir / 'mlflow.db'}", "model-audit-fails", audit_url=audit_url)
    register(registry, model_dir, key="a")
    engine = sa.create_engine(audit_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE shipyard_alias_events"))
    engine.dispose()
    with pytest.raises(RegistryError, match="Nothing was registered") as info:
        register(registry, model_dir, key="b")
    registry.close()
    assert isinstance(info.value.__cause__, sa.exc.OperationalError)
    assert [v.version for v in registry.versions()] == ["1"]
    assert registry.get("candidate").version == "1"
    runs = sorted(_runs(registry), key=lambda run: run.info.start_time)
    assert [(r.info.status, r.info.lifecycle_stage) for r in runs] == [
        ("FINISHED", "active"),
        ("FAILED", "deleted"),
    ]


def test_database_store_needs_an_artifact_root_and_hides_the_password(tmp_path: Path) -> None:
    audit_url = f"sqlite:///{tmp_path / 'audit.db'}"
    with pytest.raises(ConfigError, match="Set registry.artifact_location") as info:
        ModelRegistry("postgresql://ml:s3cret@db:5432/mlflow", "m", audit_url=audit_url)
    assert "s3cret" not in str(info.value) and "ml:***@db:5432" in str(info.value)
    registry = ModelRegistry(
        "postgresql://ml:s3cret@db/mlflow", "m", artifact_root=tmp_path, audit_url=audit_url
    )
    assert registry.artifact_root == tmp_path.resolve()
    registry.close()
    with pytest.raises(ConfigError, match="Got 'my model' instead"):
        ModelRegistry("sqlite:///x.db", "my model", audit_url=audit_url)


def test_a_rolled_back_version_loses_its_pre_release_aliases(
    registry: ModelRegistry, model_dir: Path
) -> None:
    register(registry, model_dir, key="a")
    register(registry, model_dir, key="b")
    registry.promote("1", "production", actor="ci")
    registry.promote("2", "canary", actor="ci")
    assert registry.get("2").aliases == ("canary", "candidate")
    moves = registry.promote("2", "rejected", actor="controller", reason="error rate 20% > 1%")
    moved = {(e.alias, e.to_version) for e in moves}
    assert moved == {("rejected", "2"), ("candidate", None), ("canary", None)}
    assert registry.get("2").aliases == ("rejected",)
    assert registry.get("production").version == "1"
    assert {e.reason for e in moves} == {"error rate 20% > 1%"}


def test_a_run_left_by_a_dead_registration_is_removed_by_the_next_one(
    registry: ModelRegistry, model_dir: Path
) -> None:
    import os
    import socket

    from mlflow import MlflowClient

    register(registry, model_dir, key="a")
    client = MlflowClient(registry.tracking_uri)
    experiment = client.get_experiment_by_name(registry.model_name).experiment_id
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    tag = "shipyard.registering"
    dead = client.create_run(experiment, tags={tag: f"{socket.gethostname()}:{gone.pid}"})
    live = client.create_run(experiment, tags={tag: f"{socket.gethostname()}:{os.getpid()}"})
    register(registry, model_dir, key="b")
    left = client.get_run(dead.info.run_id).info
    assert (left.status, left.lifecycle_stage) == ("FAILED", "deleted")
    assert client.get_run(live.info.run_id).info.lifecycle_stage == "active"  # its holder may still finish
    finished = [v for v in registry.versions() if v.run_id]
    assert all(tag not in client.get_run(v.run_id).data.tags for v in finished)
