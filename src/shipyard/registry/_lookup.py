"""Reading one registered model's versions and aliases from MLflow as `ModelVersionInfo`."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.core.hashing import digest_bytes
from shipyard.errors import IntegrityError, ModelVersionNotFound
from shipyard.registry import _info as names
from shipyard.registry._info import ModelVersionInfo

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

_PAGE = 1000


class Lookup:
    """Queries about the model `name` through `client`; `where` names the store in messages."""

    def __init__(self, client: MlflowClient, name: str, where: str) -> None:
        self._client = client
        self._name = name
        self._where = where

    def aliases(self) -> dict[str, str] | None:
        """Alias -> version, or None when the model is not registered at all."""
        from mlflow.exceptions import MlflowException

        try:
            model = self._client.get_registered_model(self._name)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        return {alias: str(version) for alias, version in model.aliases.items()}

    def get(self, ref: str) -> ModelVersionInfo:
        aliases = self.aliases()
        if aliases is None:
            raise ModelVersionNotFound(
                f"No model named '{self._name}' is registered in {self._where}. Register a "
                "version first, or check 'registry.model_name' and the tracking URI."
            )
        key = ref.strip().removeprefix("@")
        if key.isdigit():
            version: str | None = str(int(key))
        elif key == "latest":
            found = self._search()
            version = str(max(int(mv.version) for mv in found)) if found else None
        else:
            version = aliases.get(key)
        model_version = self._version(version) if version else None
        if model_version is None:
            raise ModelVersionNotFound(self._unknown(ref, aliases))
        return self.info(model_version, aliases)

    def all(self) -> list[ModelVersionInfo]:
        aliases = self.aliases()
        if aliases is None:
            return []
        found = sorted(self._search(), key=lambda mv: int(mv.version), reverse=True)
        return [self.info(mv, aliases) for mv in found]

    def by_content_key(self, content_key: str) -> ModelVersionInfo | None:
        aliases = self.aliases()
        if aliases is None:
            return None
        found = self._search(f" and tags.`{names.TAG_CONTENT_KEY}` = '{content_key}'")
        if not found:
            return None
        return self.info(max(found, key=lambda mv: int(mv.version)), aliases)

    def info(self, mv: ModelVersion, aliases: dict[str, str]) -> ModelVersionInfo:
        version = str(mv.version)
        run = self._client.get_run(mv.run_id) if mv.run_id else None
        tags = dict(mv.tags)
        return ModelVersionInfo(
            name=self._name,
            version=version,
            aliases=tuple(sorted(a for a, v in aliases.items() if v == version)),
            verdict=tags.get(names.TAG_VERDICT, ""),
            metrics=dict(run.data.metrics) if run else {},
            params=dict(run.data.params) if run else {},
            tags={k: v for k, v in tags.items() if k not in names.RESERVED_TAGS},
            created_at=datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC),
            run_id=mv.run_id or None,
            source=mv.source or "",
            content_key=tags.get(names.TAG_CONTENT_KEY),
            manifest=self._manifest(tags.get(names.TAG_MANIFEST), mv.run_id),
            signature=tags.get(names.TAG_SIGNATURE),
        )

    def _manifest(self, tag: str | None, run_id: str | None) -> dict[str, str]:
        """The manifest from its tag, or from the run artifact whose sha256 the tag holds."""
        if not tag:
            return {}
        if not tag.startswith("sha256:"):
            return json.loads(tag)
        if not run_id:
            raise IntegrityError(
                f"Model '{self._name}' has a manifest tag pointing at a run artifact but no run. "
                "Its files cannot be verified; refusing to load it."
            )
        with tempfile.TemporaryDirectory() as tmp:
            text = Path(self._client.download_artifacts(run_id, names.MANIFEST_ARTIFACT, tmp)).read_text()
        if f"sha256:{digest_bytes(text.encode())}" != tag:
            raise IntegrityError(
                f"The manifest artifact '{names.MANIFEST_ARTIFACT}' of run {run_id} does not match "
                f"the sha256 recorded in the registry ({tag[7:19]}…). The artifact was modified "
                "after registration; refusing to load it."
            )
        return json.loads(text)

    def _version(self, version: str) -> ModelVersion | None:
        from mlflow.exceptions import MlflowException

        try:
            return self._client.get_model_version(self._name, version)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise

    def _search(self, extra_filter: str = "") -> list[ModelVersion]:
        found: list[ModelVersion] = []
        token = None
        while True:
            page = self._client.search_model_versions(
                f"name='{self._name}'{extra_filter}", max_results=_PAGE, page_token=token
            )
            found.extend(page)
            token = page.token
            if not token:
                return found

    def _unknown(self, ref: str, aliases: dict[str, str]) -> str:
        numbers = sorted((int(mv.version) for mv in self._search()), reverse=True)
        listed = ", ".join(map(str, numbers)) or "none"
        pointed = ", ".join(f"@{a} -> {v}" for a, v in sorted(aliases.items())) or "none"
        return (
            f"Model '{self._name}' has no version or alias {ref!r}. Versions: {listed}; "
            f"aliases: {pointed}. Pass one of these."
        )
