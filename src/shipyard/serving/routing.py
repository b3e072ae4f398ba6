"""Canary routing: a request key always lands on the same side of the split.

The key (header `X-Request-Key` or the JSON field `key`) is hashed to a number in [0, 1);
keys below the canary weight go to the canary. The hash is stable across processes and
restarts, so an entity keeps seeing the same model while the weight stays put, and raising
the weight only moves keys from production to the canary, never back.

Examples:
    >>> route_for("customer-42", 0.0)
    'production'
    >>> route_for("customer-42", 1.0)
    'canary'
    >>> route_for("customer-42", 0.3) == route_for("customer-42", 0.3)
    True
"""

from __future__ import annotations

import hashlib
import random

PRODUCTION = "production"
CANARY = "canary"
SHADOW = "shadow"

_SCALE = float(2**64)


def bucket(key: str) -> float:
    """A stable, uniform number in [0, 1) for `key`."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def route_for(key: str | None, canary_weight: float) -> str:
    """`canary` or `production` for a request; without a key the draw is random (not sticky)."""
    if canary_weight <= 0.0:
        return PRODUCTION
    if canary_weight >= 1.0:
        return CANARY
    point = bucket(key) if key is not None else random.random()  # noqa: S311 - traffic split, not security
    return CANARY if point < canary_weight else PRODUCTION
