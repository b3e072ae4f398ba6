"""Gate contexts built from synthetic models whose quality is known in advance."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from shipyard.evaluation import ModelOutputs
from shipyard.gates import GateContext


def scored_outputs(y: np.ndarray, separation: float, rng: np.random.Generator) -> ModelOutputs:
    """A binary model with score `y * separation + N(0, 1)`: ROC AUC = Phi(separation / sqrt 2)."""
    z = y * separation + rng.normal(size=len(y))
    p = 1 / (1 + np.exp(-(z - separation / 2)))
    return ModelOutputs((p > 0.5).astype(int), np.column_stack([1 - p, p]), (0, 1))


def _context(
    seed: int = 0,
    n: int = 500,
    candidate: float = 1.5,
    baseline: float | None = 1.5,
    **fields: object,
) -> GateContext:
    """A binary task whose candidate and baseline have the given separations."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return GateContext(
        task="classification",
        y_true=y,
        candidate=scored_outputs(y, candidate, rng),
        baseline=None if baseline is None else scored_outputs(y, baseline, rng),
        **{"metrics": {}, "seed": seed, **fields},
    )


@pytest.fixture(params=[0, 1, 2, 3, 4])
def seed(request: pytest.FixtureRequest) -> int:
    return request.param


@pytest.fixture
def make_context() -> Callable[..., GateContext]:
    return _context
