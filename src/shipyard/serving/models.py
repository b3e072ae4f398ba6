"""The set of models a server holds (production, canary, shadow) and the atomic hot swap.

A new set is loaded completely (every version downloaded, its manifest's signature checked
when a verify key is configured, verified against its sha256 manifest and environment
fingerprint, deserialised with only the trusted types) before one reference is replaced, so
a request sees either the old set or the new one, never a mix. A failed load leaves the
old set serving and is kept in `last_error`. Each new version is warmed (`warm`) before the
swap, so its first requests do not pay its one-off first-call costs.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.errors import ConfigError, ServingError
from shipyard.serving.desired import DesiredState

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from shipyard.registry.store import ModelRegistry
    from shipyard.training.packaging import ModelTrust, Servable

logger = logging.getLogger(__name__)

#: times the input example is scored after a version loads, before it takes traffic
WARMUP_CALLS = 3


@dataclass(frozen=True)
class LoadedModel:
    """One verified, deserialised model version."""

    version: str
    servable: Servable
    path: Path | None = None  # the verified model folder; None for a model built in memory
    loaded_at: float = 0.0

    @property
    def positive_index(self) -> int | None:
        """Column of the score in `proba_*`: the positive class for binary models, else None (max)."""
        return 1 if len(self.servable.classes) == 2 else None


@dataclass(frozen=True)
class ModelSet:
    """What is served: production, optional canary with its weight, optional shadow."""

    model: str
    production: LoadedModel
    canary: LoadedModel | None = None
    canary_weight: float = 0.0
    shadow: LoadedModel | None = None
    previous: str | None = None

    def describe(self) -> dict[str, Any]:
        def one(m: LoadedModel | None) -> dict[str, Any] | None:
            if m is None:
                return None
            return {
                "version": m.version,
                "task": m.servable.task,
                "classes": [str(c) for c in m.servable.classes],
            }

        weight = self.canary_weight if self.canary is not None else 0.0
        return {
            "model": self.model,
            "production": one(self.production),
            "canary": None if self.canary is None else {**(one(self.canary) or {}), "weight": weight},
            "shadow": one(self.shadow),
            "previous": self.previous,
            "traffic": {"production": 1.0 - weight, "canary": weight},
        }


def warm(servable: Servable, folder: Path) -> None:
    """Score the version's input example (one row, then all) `WARMUP_CALLS` times.

    A freshly loaded model's first calls are 10-20x slower than later ones (lazy imports,
    allocations, caches: ~250 ms against ~15 ms for the fraud example); without a warm-up those
    land on its first requests and on a canary's first logged calls. Best effort: a version
    without an example, or whose example fails, is served cold and its requests report errors.
    """
    import pandas as pd

    path = folder / "input_example.json"  # MLflow's split format, written when it was packaged
    if not path.is_file():
        return
    try:
        example = json.loads(path.read_text())
        frame = pd.DataFrame(example["data"], columns=example["columns"])
        for _ in range(WARMUP_CALLS):
            servable.predict_frame(frame.head(1))
            servable.predict_frame(frame)
    except Exception as exc:  # noqa: BLE001 - only a warm-up: requests report the model's real errors
        logger.warning("Could not warm up the model in %s on its input example: %s", folder, exc)


class ModelHolder:
    """Loads versions from the registry (reusing ones already loaded) and swaps the served set."""

    def __init__(
        self,
        registry: ModelRegistry | None,
        *,
        on_mismatch: str = "warn",
        trust: ModelTrust | None = None,
        verify_key: Ed25519PublicKey | None = None,
    ) -> None:
        self.registry = registry
        self.on_mismatch = on_mismatch
        self.trust = trust  # what deserialising may build (shipyard.yaml's model_format)
        self.verify_key = verify_key  # when set, only versions signed with its private key load
        self.current: ModelSet | None = None
        self.desired: DesiredState | None = None
        self.last_error: str | None = None
        self.swaps = 0
        self._lock = threading.Lock()  # one load at a time; readers never take it

    @classmethod
    def fixed(cls, models: ModelSet) -> ModelHolder:
        """A holder serving models already in memory, with no registry (embedding, tests)."""
        holder = cls(None)
        holder.current = models
        return holder

    def load(self, ref: str) -> LoadedModel:
        """Fetch, verify and deserialise one version (or alias); reuses a version already served."""
        from shipyard.registry.verified import download_signed, fetch_verified
        from shipyard.training.packaging import load_servable

        if self.registry is None:
            raise ServingError(f"Cannot load version {ref!r}: this server was started without a registry.")
        info = self.registry.get(ref)
        for loaded in self._loaded():
            if loaded.version == info.version:
                # Served already, but its files are verified again: a tampered cache must not hide.
                download_signed(self.registry, info, self.verify_key)
                return loaded
        verified = fetch_verified(
            self.registry, info.version, on_mismatch=self.on_mismatch, verify_key=self.verify_key
        )
        servable = load_servable(verified.path, self.trust)
        warm(servable, verified.path)
        return LoadedModel(info.version, servable, verified.path, time.time())

    def _loaded(self) -> list[LoadedModel]:
        current = self.current
        if current is None:
            return []
        return [m for m in (current.production, current.canary, current.shadow) if m is not None]

    def apply(self, desired: DesiredState) -> ModelSet:
        """Load everything `desired` names, then swap it in; on failure keep serving the old set.

        Raises `ServingError` (or the registry's own error) when the new set could not be loaded.
        """
        name = desired.model if self.registry is None else self.registry.model_name
        if desired.model != name:
            raise ConfigError(
                f"The deploy file names model '{desired.model}' but this project serves "
                f"'{name}'. Fix 'model:' in the deploy file."
            )
        with self._lock:
            try:
                new = ModelSet(
                    model=desired.model,
                    production=self.load(desired.production),
                    canary=None if desired.canary is None else self.load(desired.canary.version),
                    canary_weight=0.0 if desired.canary is None else desired.canary.weight,
                    shadow=None if desired.shadow is None else self.load(desired.shadow),
                    previous=desired.previous,
                )
                self._check_outputs(new)
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                if self.current is not None:
                    logger.error("Kept serving the current models; could not load %s: %s", desired, exc)
                raise
            self.current = new  # the atomic swap: one reference assignment
            self.desired = desired
            self.last_error = None
            self.swaps += 1
            return new

    @staticmethod
    def _check_outputs(new: ModelSet) -> None:
        tasks = {m.servable.task for m in (new.production, new.canary, new.shadow) if m is not None}
        if len(tasks) > 1:
            raise ServingError(
                f"The deploy file mixes tasks {sorted(tasks)}: production, canary and shadow must "
                "all be classifiers or all regressors."
            )

    def describe(self) -> dict[str, Any]:
        described = self.current.describe() if self.current is not None else {}
        return {**described, "last_error": self.last_error, "swaps": self.swaps}
