"""The MLflow adapter: register immutable model versions, move aliases, download verified copies.

Every call goes through an explicit `MlflowClient` (never MLflow's global tracking
state), and MLflow is imported only when a registry is first used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shipyard.errors import (
    AliasConflict,
    ConfigError,
    IntegrityError,
    RegistryError,
    ServiceUnavailableError,
)
from shipyard.registry import _info as names
from shipyard.registry import _mlflow
from shipyard.registry._info import ModelVersionInfo
from shipyard.registry._lookup import Lookup
from shipyard.registry._mlflow import default_artifact_root, redact
from shipyard.registry._undo import Undo
from shipyard.registry.history import AliasEvent, AliasHistory
from shipyard.registry.integrity import build_manifest, verify_manifest
from shipyard.registry.signing import sign_manifest

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from mlflow import MlflowClient

    from shipyard.config.project import StoreLocation


class ModelRegistry:
    """The versions of one model in an MLflow registry, with Shipyard's alias history beside it.

    Versions are immutable; aliases (`candidate`, `production`, `previous`) move and
    every move is recorded in the `AliasHistory` at `audit_url`.
    """

    def __init__(
        self,
        tracking_uri: str,
        model_name: str,
        *,
        artifact_root: Path | str | None = None,
        audit_url: str,
        cache_dir: Path | None = None,
        request_timeout_s: int = 30,
        max_retries: int = 2,
    ) -> None:
        names.check_model_name(model_name)
        self.tracking_uri = tracking_uri
        self.model_name = model_name
        self.artifact_root: Path | str | None
        if isinstance(artifact_root, str) and "://" in artifact_root:
            self.artifact_root = artifact_root  # s3://..., gs://...: MLflow's artifact repositories
        elif artifact_root:
            self.artifact_root = Path(artifact_root).resolve()
        else:
            self.artifact_root = default_artifact_root(tracking_uri)
        self.cache_dir = cache_dir
        self.request_timeout_s = request_timeout_s
        self.max_retries = max_retries
        self._history = AliasHistory(audit_url)

    @classmethod
    def at(cls, store: StoreLocation) -> ModelRegistry:
        """The registry a project's `StoreLocation` names."""
        return cls(
            store.tracking_uri,
            store.model_name,
            artifact_root=store.artifact_root,
            audit_url=store.audit_url,
            cache_dir=store.cache_dir,
            request_timeout_s=store.request_timeout_s,
            max_retries=store.max_retries,
        )

    @cached_property
    def _client(self) -> MlflowClient:
        from mlflow import MlflowClient

        if not _mlflow.is_database(self.tracking_uri):
            return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
        _mlflow.probe_database(self.tracking_uri, self.request_timeout_s)
        with _mlflow.store_creation_lock(self.tracking_uri):
            client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
            client.search_experiments(max_results=1)  # creates or migrates the schema, serialised
            client.search_registered_models(max_results=1)
        return client

    @cached_property
    def _lookup(self) -> Lookup:
        return Lookup(self._client, self.model_name, redact(self.tracking_uri))

    @contextmanager
    def _errors(self, action: str, hint: str | Callable[[bool], str] = "") -> Iterator[None]:
        """Turn MLflow and database failures into `RegistryError` naming the action and store;
        a service that did not answer within the timeout and retries is `ServiceUnavailableError`.
        Remote calls inside are bounded (`request_timeout_s`, `max_retries`)."""
        from mlflow.exceptions import MlflowException

        try:
            with _mlflow.remote_limits(self.request_timeout_s, self.max_retries):
                yield
        except (MlflowException, sa.exc.SQLAlchemyError, OSError) as exc:
            detail = str(exc).strip().rstrip(".")
            lost = _mlflow.unreachable(exc)
            tail = hint(lost) if callable(hint) else hint
            if lost:
                raise ServiceUnavailableError(
                    f"Could not {action} model '{self.model_name}': the MLflow tracking store at "
                    f"{redact(self.tracking_uri)} could not be reached (timeout {self.request_timeout_s} s, "
                    f"{self.max_retries} retries: {detail[:300]}). Check that it is running and "
                    f"reachable (registry.tracking_uri / MLFLOW_TRACKING_URI).{tail}"
                ) from exc
            raise RegistryError(
                f"Could not {action} model '{self.model_name}' in {redact(self.tracking_uri)}: "
                f"{detail}.{tail}"
            ) from exc

    # -- registration -------------------------------------------------------------------------

    def register(
        self,
        model_dir: Path,
        *,
        params: dict[str, Any],
        metrics: dict[str, float],
        tags: dict[str, str],
        approved: bool,
        reports: dict[str, str],
        content_key: str,
        actor: str,
        signing_key: Ed25519PrivateKey | None = None,
    ) -> ModelVersionInfo:
        """Log one run and create a model version from it; all of it or, on failure, nothing.

        An approved version gets the `candidate` alias; a rejected one never gets an alias.
        With `signing_key` the version's manifest is signed (tag `shipyard.signature`).
        """
        manifest = build_manifest(Path(model_dir))
        if "MLmodel" not in manifest:
            raise ConfigError(
                f"The model directory {model_dir} has no MLmodel file. Pass a folder written by "
                "mlflow.pyfunc.save_model (Shipyard's packaging step writes one)."
            )
        names.check_content_key(content_key)
        verdict = names.APPROVED if approved else names.REJECTED
        version_tags = {
            **names.check_user_tags(tags),
            names.TAG_VERDICT: verdict,
            names.TAG_CONTENT_KEY: content_key,
        }
        clean_metrics = names.finite_metrics(metrics)
        report_files = names.report_paths(reports)
        undo = Undo()

        def hint(lost: bool) -> str:
            if not undo.left and lost and not undo.done:
                return (
                    " Nothing was registered. If the server created a run before it stopped answering, "
                    "the next registration of this model removes it."
                )
            if not undo.left:
                return (
                    " Nothing was registered: the partial run and model version were removed."
                    " Fix the cause and register again."
                )
            return (
                f" The clean-up could not reach the store either, so this was left behind: "
                f"{'; '.join(undo.left)}. The next registration of this model removes it "
                "(or delete it in MLflow)."
            )

        with self._errors("register a new version of", hint), undo:
            version = self._register(
                Path(model_dir),
                manifest,
                params,
                clean_metrics,
                version_tags,
                report_files,
                actor,
                undo,
            )
            if signing_key is not None:
                signature = sign_manifest(signing_key, self.model_name, version, manifest)
                self._client.set_model_version_tag(self.model_name, version, names.TAG_SIGNATURE, signature)
            if approved:
                self._move_aliases(
                    [(names.CANDIDATE, version)],
                    actor=actor,
                    reason="passed all required gates",
                    report=_reports_of(self.get(version)),
                    undo=undo,
                )
            run_id = self.get(version).run_id
            if run_id is not None:
                self._client.delete_tag(run_id, _mlflow.TAG_REGISTERING)  # the registration is complete
        return self.get(version)

    def _register(
        self,
        model_dir: Path,
        manifest: dict[str, str],
        params: dict[str, Any],
        metrics: dict[str, float],
        version_tags: dict[str, str],
        report_files: dict[str, str],
        actor: str,
        undo: Undo,
    ) -> str:
        """Create the run, its artifacts and the model version; push an undo step for each."""
        client = self._client
        experiment = _mlflow.experiment_id(client, self.model_name, self.artifact_root)
        _mlflow.discard_stale_runs(client, experiment)
        run = client.create_run(
            experiment, tags={**version_tags, "mlflow.user": actor, _mlflow.TAG_REGISTERING: _mlflow.holder()}
        )
        run_id = run.info.run_id
        undo.push(
            _mlflow.discard_run, client, run_id, leaves=f"MLflow run {run_id} (not FAILED, not deleted)"
        )
        _mlflow.log_values(client, run_id, params, metrics)
        for path, text in report_files.items():
            client.log_text(run_id, text, path)
        client.log_artifacts(run_id, str(model_dir), names.MODEL_ARTIFACT)
        manifest_tag = _mlflow.manifest_tag(client, run_id, manifest)
        client.set_terminated(run_id, "FINISHED")
        if self._lookup.aliases() is None:
            client.create_registered_model(self.model_name)
            undo.push(
                client.delete_registered_model,
                self.model_name,
                leaves=f"registered model '{self.model_name}' with no version",
            )
        model_version = client.create_model_version(
            self.model_name,
            source=f"{run.info.artifact_uri}/{names.MODEL_ARTIFACT}",
            run_id=run_id,
            tags={**version_tags, names.TAG_MANIFEST: manifest_tag},
        )
        undo.push(
            client.delete_model_version,
            self.model_name,
            model_version.version,
            leaves=f"model version {model_version.version}",
        )
        return str(model_version.version)

    # -- reading ------------------------------------------------------------------------------

    def report_text(self, ref: str, name: str) -> str:
        """A report registered with a version (e.g. 'gate_report.json'), as text."""
        import tempfile

        info = self.get(ref)
        if info.run_id is None:
            raise RegistryError(
                f"Version {info.version} of model '{self.model_name}' has no MLflow run, so it has no "
                f"report {name!r}. Register it with Shipyard."
            )
        action = f"read report {name!r} of version {info.version} of"
        with self._errors(action), tempfile.TemporaryDirectory() as tmp:
            path = self._client.download_artifacts(info.run_id, f"{names.REPORTS_ARTIFACT}/{name}", tmp)
            return Path(path).read_text()

    def find_by_content_key(self, content_key: str) -> ModelVersionInfo | None:
        """The newest version built from exactly this content, if any: a rerun registers nothing.

        What an interrupted registration left is removed first, so it is never taken for one."""
        names.check_content_key(content_key)
        with self._errors("search"):
            experiment = self._client.get_experiment_by_name(self.model_name)
            if experiment is not None:
                _mlflow.discard_stale_runs(self._client, experiment.experiment_id)
            return self._lookup.by_content_key(content_key)

    def versions(self) -> list[ModelVersionInfo]:
        """Every version, newest first; empty when the model is not registered yet."""
        with self._errors("list the versions of"):
            return self._lookup.all()

    def get(self, ref: str) -> ModelVersionInfo:
        """The version named by `ref`: "3", "production", "@production" or "latest".

        Raises `ModelVersionNotFound` listing the existing versions and aliases.
        """
        with self._errors("read"):
            return self._lookup.get(ref)

    def download(self, ref: str, dst: Path | None = None) -> Path:
        """A local copy of the version's model files, verified against its manifest.

        Copies are cached as `<cache>/<version>`, where the cache is `dst` when given and
        `<artifact_root>/../models-cache/<model>` otherwise; a cached copy is verified again
        on every call. Raises `IntegrityError` when a file differs from the registration.
        """
        info = self.get(ref)
        if not info.manifest:
            raise IntegrityError(
                f"Version {info.version} of model '{self.model_name}' has no "
                f"'{names.TAG_MANIFEST}' tag, so its files cannot be verified; refusing to load "
                "it. Register the model with Shipyard."
            )
        cache = Path(dst) if dst is not None else self._default_cache()
        target = cache / info.version
        if not target.exists():
            with self._errors(f"download version {info.version} of"):
                _mlflow.fetch(self._client, self.tracking_uri, info, target)
            return target
        try:
            verify_manifest(target, info.manifest)
        except IntegrityError as exc:
            raise IntegrityError(
                f"{exc}\nCached copy: {target}. Delete it to download the model again."
            ) from None
        return target

    def _default_cache(self) -> Path:
        if self.cache_dir is not None:
            return self.cache_dir
        if not isinstance(self.artifact_root, Path):
            raise ConfigError(
                f"The tracking URI {redact(self.tracking_uri)} has no local artifact root, so "
                "there is no default download cache. Pass dst to download()."
            )
        return self.artifact_root.parent / "models-cache" / self.model_name

    # -- aliases ------------------------------------------------------------------------------

    def promote(
        self,
        ref: str,
        to: str,
        *,
        actor: str,
        force: bool = False,
        reason: str | None = None,
        report: str | None = None,
    ) -> list[AliasEvent]:
        """Point alias `to` at version `ref` and return the recorded moves ([] if already there).

        Moving `production` away from a version points `previous` at it, for `rollback`.
        A rejected version is refused (`AliasConflict`) unless `force=True` with a `reason`.
        Moving `rejected` to a version (a rolled-back canary) takes its pre-release aliases
        (`candidate`, `staging`, `canary`) away in the same recorded change.
        """
        names.check_alias(to)
        if to == names.PREVIOUS:
            raise ConfigError(
                f"The alias '{names.PREVIOUS}' is moved by Shipyard when 'production' moves. "
                f"Promote to '{names.PRODUCTION}' instead, or use rollback()."
            )
        if force and not (reason and reason.strip()):
            raise ConfigError(
                "promote(force=True) needs a non-empty 'reason'; it is recorded in the alias "
                "history. Say why the gates are overridden."
            )
        info = self.get(ref)
        if to in info.aliases:
            return []
        if not info.approved and not force:
            raise AliasConflict(
                f"Version {info.version} of model '{self.model_name}' was rejected by its gates "
                f"(verdict {info.verdict or 'unknown'!r}); refusing to move alias '{to}' to it. "
                "Register a version that passes, or override with a recorded reason: "
                "`shipyard promote VERSION --to ALIAS --force --reason TEXT`."
            )
        with self._errors("read the aliases of"):
            old = (self._lookup.aliases() or {}).get(to)
        moves: list[tuple[str, str | None]] = [(to, info.version)]
        if to == names.PRODUCTION and old is not None:
            moves.append((names.PREVIOUS, old))
        if to == names.REJECTED:
            moves += [(alias, None) for alias in names.PRE_RELEASE_ALIASES if alias in info.aliases]
        if force and not info.approved:
            why = f"forced despite failed gates: {reason}"
        else:
            why = reason or f"promoted version {info.version} to '{to}'"
        return self._apply(moves, actor=actor, reason=why, report=report or _reports_of(info))

    def rollback(self, alias: str = names.PRODUCTION, *, actor: str, reason: str) -> list[AliasEvent]:
        """Point `production` back at the `previous` version and remove `previous`."""
        if alias != names.PRODUCTION:
            raise ConfigError(
                f"Only '{names.PRODUCTION}' keeps a '{names.PREVIOUS}' version to roll back to. "
                f"Got alias {alias!r}; use promote() to move it to a chosen version."
            )
        if not reason.strip():
            raise ConfigError("rollback() needs a non-empty 'reason'; it is recorded in the history.")
        with self._errors("read the aliases of"):
            target = (self._lookup.aliases() or {}).get(names.PREVIOUS)
        if target is None:
            raise AliasConflict(
                f"Model '{self.model_name}' has no '{names.PREVIOUS}' version to roll "
                f"'{alias}' back to. Promote a chosen version with promote(ref, '{alias}')."
            )
        return self._apply([(alias, target), (names.PREVIOUS, None)], actor=actor, reason=reason, report=None)

    def _apply(
        self,
        moves: list[tuple[str, str | None]],
        *,
        actor: str,
        reason: str,
        report: str | None,
    ) -> list[AliasEvent]:
        with self._errors("move the aliases of"), Undo() as undo:
            return self._move_aliases(moves, actor=actor, reason=reason, report=report, undo=undo)

    def _move_aliases(
        self,
        moves: list[tuple[str, str | None]],
        *,
        actor: str,
        reason: str,
        report: str | None,
        undo: Undo,
    ) -> list[AliasEvent]:
        """Move each alias (None removes it), then record every move in one transaction."""
        current: dict[str, str | None] = dict(self._lookup.aliases() or {})
        at = datetime.now(UTC)
        events = []
        for alias, version in moves:
            old = current.get(alias)
            self._set_alias(alias, version)
            undo.push(self._set_alias, alias, old, leaves=f"alias '{alias}' on version {version}, not {old}")
            current[alias] = version
            events.append(AliasEvent(self.model_name, alias, old, version, actor, reason, report, at))
        self._history.record_all(events)
        return events

    def _set_alias(self, alias: str, version: str | None) -> None:
        if version is not None:
            self._client.set_registered_model_alias(self.model_name, alias, version)
        elif alias in (self._lookup.aliases() or {}):
            self._client.delete_registered_model_alias(self.model_name, alias)

    def history(self, *, alias: str | None = None) -> list[AliasEvent]:
        """Every alias move of this model (of one alias when given), oldest first."""
        with self._errors("read the alias history of"):
            return self._history.events(self.model_name, alias=alias)

    def version_at(self, alias: str, when: datetime) -> str | None:
        """The version `alias` pointed to at `when` (timezone-aware), or None."""
        with self._errors("read the alias history of"):
            return self._history.version_at(self.model_name, alias, when)

    def close(self) -> None:
        """Release the alias-history database connections."""
        self._history.close()


def _reports_of(info: ModelVersionInfo) -> str:
    """Where the reports that justified a version live: its run's reports folder."""
    return f"runs:/{info.run_id}/{names.REPORTS_ARTIFACT}"
