"""`warm`: a newly loaded version scores its input example before it takes traffic."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipyard.serving.models import WARMUP_CALLS, warm
from shipyard.training.packaging import Servable


class Counting:
    """An estimator that counts the rows it is asked to score (and can refuse them)."""

    classes_ = np.array([0, 1])

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[int] = []
        self.fail = fail

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if self.fail:
            raise ValueError("cannot score")
        self.batches.append(len(X))
        return np.tile([0.3, 0.7], (len(X), 1))


def _example(folder: Path) -> Path:
    example = {"columns": ["a", "b"], "data": [[1.0, "x"], [2.0, "y"], [3.0, "z"]]}
    (folder / "input_example.json").write_text(json.dumps(example))
    return folder


def test_a_version_scores_its_example_before_serving(tmp_path: Path) -> None:
    estimator = Counting()
    warm(Servable(estimator, None, "classification", "y"), _example(tmp_path))
    assert estimator.batches == [1, 3] * WARMUP_CALLS


def test_a_version_without_an_example_is_served_cold(tmp_path: Path) -> None:
    estimator = Counting()
    warm(Servable(estimator, None, "classification", "y"), tmp_path)
    assert estimator.batches == []


def test_an_example_the_model_refuses_only_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="shipyard.serving.models"):
        warm(Servable(Counting(fail=True), None, "classification", "y"), _example(tmp_path))
    assert "Could not warm up the model" in caplog.text
    assert "cannot score" in caplog.text
