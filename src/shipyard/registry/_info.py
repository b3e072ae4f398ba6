"""What Shipyard knows about one registered model version, and the names it stores it under."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

from shipyard.config.policy import MODEL_NAME
from shipyard.errors import ConfigError

MODEL_ARTIFACT = "model"
REPORTS_ARTIFACT = "reports"
MANIFEST_ARTIFACT = "shipyard/manifest.json"

TAG_VERDICT = "shipyard.verdict"
TAG_CONTENT_KEY = "shipyard.content_key"
TAG_MANIFEST = "shipyard.manifest"
TAG_SIGNATURE = "shipyard.signature"
RESERVED_TAGS = frozenset({TAG_VERDICT, TAG_CONTENT_KEY, TAG_MANIFEST, TAG_SIGNATURE})

APPROVED = "approved"
REJECTED = "rejected"

CANDIDATE = "candidate"
PRODUCTION = "production"
PREVIOUS = "previous"

_ALIAS = re.compile(r"[A-Za-z0-9_-]+")
_RESERVED_ALIAS = re.compile(r"latest|v\d+", re.IGNORECASE)
_CONTENT_KEY = re.compile(r"[A-Za-z0-9_.:-]+")


@dataclass(frozen=True)
class ModelVersionInfo:
    """One immutable model version with its aliases, run metrics and params, and manifest.

    `verdict` is "approved" or "rejected" (empty for a version registered outside
    Shipyard); `manifest` maps each model file to its sha256 (empty when absent);
    `signature` is set when CI signed it (see `registry.signing`).
    """

    name: str
    version: str
    aliases: tuple[str, ...]
    verdict: str
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]
    created_at: datetime
    run_id: str | None
    source: str
    content_key: str | None
    manifest: dict[str, str] = field(repr=False)
    signature: str | None = field(default=None, repr=False)  # Ed25519 over name, version, manifest

    @property
    def approved(self) -> bool:
        return self.verdict == APPROVED


def check_model_name(name: str) -> None:
    if not MODEL_NAME.fullmatch(name):
        raise ConfigError(
            f"The registered model name must start with a letter, digit, '_' or '-' and contain "
            f"only letters, digits, '_', '.' and '-'. "
            f"Got {name!r} instead. Set 'registry.model_name' in shipyard.yaml."
        )


LIFECYCLE_ALIASES = (CANDIDATE, "staging", "canary", PRODUCTION, PREVIOUS)
#: aliases that say "on its way to production": a rejected version keeps none of them
PRE_RELEASE_ALIASES = (CANDIDATE, "staging", "canary")


def check_alias(alias: str) -> None:
    """Refuse names MLflow reserves, and near misses of the lifecycle aliases (`Production`,
    `prodution`) that would silently create a second, unused alias; other custom names pass."""
    if not _ALIAS.fullmatch(alias) or _RESERVED_ALIAS.fullmatch(alias):
        raise ConfigError(
            f"The alias must contain only letters, digits, '_' and '-', and must not be 'latest' "
            f"or 'v<number>' (MLflow reserves those). Got {alias!r} instead; "
            f"use e.g. '{PRODUCTION}' or 'staging'."
        )
    if alias in LIFECYCLE_ALIASES:
        return
    close = difflib.get_close_matches(alias.lower(), LIFECYCLE_ALIASES, n=1, cutoff=0.8)
    if close:
        raise ConfigError(
            f"Unknown alias {alias!r}. Did you mean '{close[0]}'? The lifecycle aliases are "
            f"{', '.join(LIFECYCLE_ALIASES)}; aliases are case-sensitive."
        )


def check_content_key(content_key: str) -> None:
    if not _CONTENT_KEY.fullmatch(content_key):
        raise ConfigError(
            f"The content key must contain only letters, digits, '_', '.', ':' and '-'. "
            f"Got {content_key!r} instead; pass the pipeline's content hash."
        )


def check_user_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags as strings; Shipyard's own tag keys are refused."""
    clash = sorted(RESERVED_TAGS & set(tags))
    if clash:
        raise ConfigError(
            f"The tag {clash[0]!r} is set by Shipyard itself and cannot be passed in 'tags'. Rename the tag."
        )
    return {str(key): str(value) for key, value in tags.items()}


def finite_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    """Metrics as floats, without NaN or infinite values (MLflow would store inf as 1.8e308)."""
    clean = {}
    for key, value in metrics.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"Metric {key!r} must be a number. Got {value!r} instead; "
                "log only numeric metrics, put text in tags."
            ) from None
        if math.isfinite(number):
            clean[str(key)] = number
    return clean


def report_paths(reports: Mapping[str, str]) -> dict[str, str]:
    """Artifact path of each report file name; names that would leave the reports folder fail."""
    paths = {}
    for name, text in reports.items():
        path = PurePosixPath(name)
        if not name or path.is_absolute() or ".." in path.parts or "\\" in name:
            raise ConfigError(
                f"Report file name {name!r} must be a relative path inside the reports folder, "
                "e.g. 'gates.md'. Rename the report."
            )
        paths[f"{REPORTS_ARTIFACT}/{path.as_posix()}"] = text
    return paths
