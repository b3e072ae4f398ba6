"""Synthetic model outputs with a known structure, for metric and statistics tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

from shipyard.evaluation import ModelOutputs

SEEDS = [0, 1, 2]


def _classification(
    seed: int, n: int = 300, classes: Sequence[object] = (0, 1), signal: float = 1.5
) -> tuple[np.ndarray, ModelOutputs]:
    """Labels and a softmax model whose score for the true class is raised by `signal`."""
    rng = np.random.default_rng(seed)
    k = len(classes)
    codes = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + signal * np.eye(k)[codes]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.asarray(classes)
    return labels[codes], ModelOutputs(labels[proba.argmax(axis=1)], proba, tuple(classes))


def _regression(seed: int, n: int = 300, noise: float = 1.0) -> tuple[np.ndarray, ModelOutputs]:
    rng = np.random.default_rng(seed)
    y = rng.normal(10, 3, n)
    return y, ModelOutputs(y + rng.normal(0, noise, n))


@pytest.fixture(params=SEEDS)
def seed(request: pytest.FixtureRequest) -> int:
    return request.param


@pytest.fixture
def make_classification() -> Callable[..., tuple[np.ndarray, ModelOutputs]]:
    return _classification


@pytest.fixture
def make_regression() -> Callable[..., tuple[np.ndarray, ModelOutputs]]:
    return _regression
