"""Model formats: skops with trusted types from our code and shipyard.yaml, pickle only on request.

The attack tests put a pickle that writes a marker file where a loader might read it:
loading must refuse, and the marker must never appear.
"""

from __future__ import annotations

import json
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipyard.core.environment import capture_fingerprint
from shipyard.errors import ConfigError, IntegrityError
from shipyard.training.entrypoints import load_entrypoint, source_files
from shipyard.training.formats import DEFAULT_TRUSTED_TYPES
from shipyard.training.packaging import ModelTrust, Servable, load_pyfunc, load_servable, package_model

PROJECT = {
    "upkg/__init__.py": "",
    "upkg/model.py": """
        from sklearn.base import BaseEstimator, ClassifierMixin
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression


        class Shifted(ClassifierMixin, BaseEstimator):
            def __init__(self, shift=0.0):
                self.shift = shift

            def fit(self, X, y):
                self.inner_ = LogisticRegression().fit(X + self.shift, y)
                self.classes_ = self.inner_.classes_
                return self

            def predict_proba(self, X):
                return self.inner_.predict_proba(X + self.shift)

            def predict(self, X):
                return self.inner_.predict(X + self.shift)


        def custom(X, y, params):
            return Shifted(1.0).fit(X, y)


        def boosted(X, y, params):
            return HistGradientBoostingClassifier(max_iter=15, random_state=0).fit(X, y)
    """,
}
CUSTOM = "upkg.model.Shifted"


class _Payload:
    """Unpickling this writes `marker`: what an attacker's model file would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def _rows(seed: int = 0, n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    frame["label"] = np.where(frame.a + 0.3 * frame.b > 0, "yes", "no")
    return frame


@pytest.fixture
def package(tmp_path: Path, make_project: Callable[..., Path]) -> Callable[..., Path]:
    """`package(train_name, trust)`: a model folder of `upkg.model:<train_name>`."""
    root = make_project(tmp_path / "proj", PROJECT)

    def build(train_name: str, trust: ModelTrust | None = None) -> Path:
        train = load_entrypoint(f"upkg.model:{train_name}", root, key="entrypoints.train")
        raw = _rows()
        estimator = train(raw[["a", "b"]], raw["label"], {})
        return package_model(
            Servable(estimator, None, task="classification", target="label"),
            out_dir=tmp_path / f"model-{train_name}-{len(list(tmp_path.iterdir()))}",
            project_root=root,
            features_ref=None,
            code_files=source_files(train, root),
            input_example=raw.head(3),
            fingerprint=capture_fingerprint(["scikit-learn"]),
            trust=trust,
        )

    return build


def _metadata(model: Path) -> dict:
    return json.loads((model / "shipyard.json").read_text())


def test_scikit_learn_models_are_saved_with_skops_and_trusted_by_default(package) -> None:
    model = package("boosted")  # HistGradientBoosting: skops itself distrusts its TreePredictor
    assert _metadata(model)["format"] == "skops"
    assert (model / "artifacts" / "estimator" / "estimator.skops").is_file()
    assert "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor" in DEFAULT_TRUSTED_TYPES
    raw = _rows(1)
    loaded = load_servable(model).predict_frame(raw)
    np.testing.assert_allclose(loaded["proba_yes"], load_pyfunc(model).predict(raw)["proba_yes"])


def test_an_untrusted_type_is_refused_at_save_naming_the_type_and_the_key(package) -> None:
    with pytest.raises(ConfigError) as caught:
        package("custom")
    message = str(caught.value)
    assert CUSTOM in message and "model_format: {trusted_types: [...]}" in message


def test_trusted_types_come_from_the_caller_never_from_the_model(package) -> None:
    model = package("custom", ModelTrust(trusted_types=(CUSTOM,)))
    raw = _rows(2)
    assert len(load_servable(model, ModelTrust(trusted_types=(CUSTOM,))).predict_frame(raw)) == len(raw)
    # The same folder loaded without that trust (a server with another shipyard.yaml, or plain
    # MLflow) refuses, whatever the folder says.
    with pytest.raises(ConfigError, match=rf"types Shipyard does not trust: {CUSTOM}"):
        load_servable(model)
    with pytest.raises(ConfigError, match=CUSTOM):
        load_pyfunc(model)


def test_allow_pickle_saves_what_skops_cannot_and_only_it_loads_it(package) -> None:
    allowed = ModelTrust(allow_pickle=True)
    model = package("custom", allowed)
    assert _metadata(model)["format"] == "pickle"
    assert len(load_servable(model, allowed).predict_frame(_rows(3))) == 120
    with pytest.raises(ConfigError, match="saved with pickle.*allow_pickle: true"):
        load_servable(model)


def _attack(marker: Path) -> bytes:
    return pickle.dumps(_Payload(marker))


def test_a_model_whose_metadata_says_pickle_is_refused_before_unpickling(package, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    model = package("boosted")
    folder = model / "artifacts" / "estimator"
    (folder / "estimator.joblib").write_bytes(_attack(marker))
    (model / "shipyard.json").write_text(json.dumps({**_metadata(model), "format": "pickle"}))
    with pytest.raises(ConfigError, match="saved with pickle"):
        load_servable(model)
    with pytest.raises(ConfigError, match="saved with pickle"):
        load_pyfunc(model)
    assert not marker.exists()


def test_a_pickle_in_place_of_the_skops_file_is_never_unpickled(package, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    model = package("boosted")
    (model / "artifacts" / "estimator" / "estimator.skops").write_bytes(_attack(marker))
    for trust in (ModelTrust(), ModelTrust(allow_pickle=True)):
        with pytest.raises(IntegrityError, match="not a readable skops file"):
            load_servable(model, trust)
    assert not marker.exists()


def test_a_model_saved_before_formats_existed_counts_as_pickle(package, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    model = package("boosted")
    shutil.rmtree(model / "artifacts" / "estimator")
    (model / "artifacts" / "estimator.joblib").write_bytes(_attack(marker))
    metadata = _metadata(model)
    del metadata["format"]
    (model / "shipyard.json").write_text(json.dumps(metadata))
    with pytest.raises(ConfigError, match="saved with pickle"):
        load_servable(model)
    assert not marker.exists()


def test_an_unknown_format_is_refused(package) -> None:
    model = package("boosted")
    (model / "shipyard.json").write_text(json.dumps({**_metadata(model), "format": "cloudpickle"}))
    with pytest.raises(IntegrityError, match="unknown format 'cloudpickle'"):
        load_servable(model)
