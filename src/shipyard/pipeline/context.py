"""What one pipeline run works with: the workspace (its project, full or smoke), and lazy handles."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from shipyard.config.policy import Policy
from shipyard.config.project import Project
from shipyard.core.hashing import FileHasher, digest_bytes, digest_value
from shipyard.errors import ConfigError
from shipyard.pipeline.code import code_digest, module_files

if TYPE_CHECKING:
    from shipyard.registry.store import ModelRegistry
    from shipyard.workspace import Workspace


@dataclass
class RunContext:
    """One run of the pipeline in `workspace`; a smoke workspace (`Workspace.for_smoke`) runs on
    the committed sample with `smoke:` params.

    It is the static configuration every stage is bound to, so it pickles: the handles
    (file hasher, the workspace's registry and store, the frame read in this process) stay
    behind, and a worker opens its own; values already computed (`data_digest`,
    `data_path`) travel along.
    """

    workspace: Workspace
    data_override: Path | None = None
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("hasher", "_frames")} | {"_frames": {}}

    @property
    def project(self) -> Project:
        return self.workspace.project

    @property
    def smoke(self) -> bool:
        return self.workspace.smoke

    @property
    def policy(self) -> Policy:
        return self.project.policy

    @cached_property
    def hasher(self) -> FileHasher:
        return FileHasher(self.workspace.stat_index)

    @property
    def params(self) -> dict[str, Any]:
        return self.policy.params_for(self.smoke)

    @property
    def seed(self) -> int:
        return int(self.params.get("seed", self.policy.split.seed))

    @property
    def data_key(self) -> str:
        return "data.sample" if self.smoke else ("data.source" if self.policy.data.source else "data.loader")

    @cached_property
    def data_path(self) -> Path | None:
        if self.data_override is not None:
            if not self.data_override.exists():
                raise ConfigError(f"--data: no such file or folder: {self.data_override}")
            return self.data_override
        data = self.policy.data
        ref = data.sample if self.smoke else data.source
        if self.smoke and ref is None:
            raise ConfigError(
                "shipyard.yaml: data.sample: smoke needs a small committed sample; "
                "add 'sample: data/sample.parquet' under 'data'."
            )
        if ref is None:
            return None
        path = self.project.resolve(ref)
        if not path.exists():
            raise ConfigError(f"shipyard.yaml: {self.data_key}: no such file or folder: {path}")
        return path

    @cached_property
    def data_digest(self) -> str:
        if self.data_path is not None:
            return self.hasher.digest_tree(self.data_path)
        from pandas.util import hash_pandas_object

        frame = self.raw()
        rows = digest_bytes(hash_pandas_object(frame, index=True).to_numpy().tobytes())
        return digest_value([[str(c) for c in frame.columns], [str(t) for t in frame.dtypes], rows])

    def code_digest(self, ref: str | None, key: str) -> str:
        if ref is None:
            return ""
        files = module_files(ref, self.project.root, key)
        if not files:
            from shipyard.training.entrypoints import load_entrypoint, source_files

            files = source_files(load_entrypoint(ref, self.project.root, key=key), self.project.root)
        return code_digest(files, self.project.root, self.hasher)

    def raw(self) -> pd.DataFrame:
        """The raw data of this run, read once per process (stages read the `load` output)."""
        if "raw" not in self._frames:
            if self.data_path is not None:
                from shipyard.data.loading import load_frame

                self._frames["raw"] = load_frame(self.data_path)
            else:
                from shipyard.training.entrypoints import load_entrypoint
                from shipyard.training.fitting import call_user

                reference = self.policy.data.loader
                if reference is None:
                    raise ConfigError(
                        "shipyard.yaml: data needs 'source' (a file) or 'loader' (module:function)."
                    )
                loader = load_entrypoint(reference, self.project.root, key="data.loader")
                frame = call_user(loader, stage="load")
                if not isinstance(frame, pd.DataFrame):
                    raise ConfigError(
                        f"shipyard.yaml: data.loader returned {type(frame).__name__}, not a pandas DataFrame."
                    )
                self._frames["raw"] = frame
        return self._frames["raw"]

    @property
    def registry(self) -> ModelRegistry:
        return self.workspace.registry
