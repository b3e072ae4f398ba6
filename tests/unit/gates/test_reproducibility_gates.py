"""Determinism, serialization round trip and training/serving skew on real models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from probe_models import TARGET, batch_features, context, features, fitted, raw_rows
from sklearn.linear_model import LogisticRegression

from shipyard.core.results import Reason, Status
from shipyard.gates.reproducibility import (
    DeterminismGate,
    SerializationRoundTripGate,
    TrainingServingSkewGate,
    frame_difference,
)


@pytest.fixture(scope="module")
def rows():
    return raw_rows(200)


def test_frame_difference_numbers_text_and_missing_values():
    left = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": ["x", "y", None]})
    same = frame_difference(left, left.copy())
    assert same[0] == 0 and same[2] == []
    right = pd.DataFrame({"a": [1.5, np.nan, np.nan], "b": ["x", "z", None]})
    worst, per_row, columns = frame_difference(left, right)
    assert worst == np.inf and per_row.tolist() == [0.5, np.inf, np.inf] and columns == ["a", "b"]
    assert frame_difference(left, left[["a"]])[2] == ["b"]


class NoisyModel(LogisticRegression):
    """Adds fresh noise at every predict: not deterministic."""

    def predict_proba(self, X):
        p = super().predict_proba(X)[:, 1]
        p = np.clip(p + np.random.default_rng().normal(scale=1e-3, size=len(p)), 0, 1)
        return np.column_stack([1 - p, p])


def test_determinism_passes_for_a_plain_model_and_fails_for_a_noisy_one(rows):
    assert DeterminismGate().evaluate(context(rows, fitted(rows))).status is Status.PASSED
    noisy = fitted(rows)
    noisy = type(noisy)(
        estimator=NoisyModel(max_iter=1000).fit(features(rows), rows[TARGET]),
        features=features,
        task="classification",
        target=TARGET,
    )
    result = DeterminismGate().evaluate(context(rows, noisy))
    assert result.status is Status.FAILED and result.reason is Reason.NONDETERMINISTIC
    assert "second call" in result.message and result.examples[0]["path"] == "second call"


def test_skew_passes_for_row_wise_features_and_fails_for_batch_statistics(rows):
    assert TrainingServingSkewGate().evaluate(context(rows, fitted(rows))).status is Status.PASSED
    result = TrainingServingSkewGate(batch_size=8).evaluate(context(rows, fitted(rows, batch_features)))
    assert result.status is Status.FAILED and result.reason is Reason.TRAINING_SERVING_SKEW
    assert "one row: max difference" in result.message and "['x1']" in result.message
    assert "batches of 8" in result.message
    example = result.examples[0]
    assert example["expected"]["x1"] != example["got"]["x1"]


NUMERIC = ["x1", "x2", "count"]


@pytest.fixture(scope="module")
def packaged(rows, tmp_path_factory):
    """A real MLflow pyfunc folder of a logistic regression on the raw numeric columns."""
    from shipyard.core.environment import capture_fingerprint, model_packages
    from shipyard.training._servable import Servable
    from shipyard.training.packaging import package_model

    estimator = LogisticRegression(max_iter=1000).fit(rows[NUMERIC], rows[TARGET])
    model = Servable(estimator=estimator, features=None, task="classification", target=TARGET)
    model_dir = tmp_path_factory.mktemp("project") / "model"
    package_model(
        model,
        out_dir=model_dir,
        project_root=model_dir.parent,
        features_ref=None,
        code_files=[],
        input_example=rows[NUMERIC].head(3),
        fingerprint=capture_fingerprint(model_packages(estimator)),
    )
    return model_dir


def test_round_trip_passes_for_the_packaged_model(rows, packaged):
    from shipyard.training.packaging import load_servable

    ctx = context(rows[[*NUMERIC, TARGET]], load_servable(packaged), model_dir=packaged)
    result = SerializationRoundTripGate().evaluate(ctx)
    assert result.status is Status.PASSED, result.message
    assert result.observed <= 1e-6


def test_round_trip_fails_when_the_artifact_differs_from_the_model_in_memory(rows, packaged, tmp_path):
    import shutil

    import skops.io

    from shipyard.training.packaging import load_servable

    copy = shutil.copytree(packaged, tmp_path / "model")
    in_memory = load_servable(copy)
    other = LogisticRegression(C=1e-3).fit(rows[NUMERIC], rows[TARGET])
    skops.io.dump(other, copy / "artifacts" / "estimator" / "estimator.skops")
    ctx = context(rows[[*NUMERIC, TARGET]], in_memory, model_dir=copy)
    result = SerializationRoundTripGate().evaluate(ctx)
    assert result.status is Status.FAILED and result.reason is Reason.ROUND_TRIP_MISMATCH
    assert "MLflow pyfunc: max difference" in result.message
    assert result.examples and result.examples[0]["path"] == "MLflow pyfunc"
