"""Model folders: package_model, then load_servable and load_pyfunc (also in a fresh process).

Every MLflow-touching test lives here: importing mlflow costs ~2 s once per process.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from shipyard.core.environment import capture_fingerprint, model_packages
from shipyard.errors import ConfigError
from shipyard.training.entrypoints import load_entrypoint, source_files
from shipyard.training.fitting import fit
from shipyard.training.packaging import ModelTrust, Servable, load_pyfunc, load_servable, package_model

FEATURES_REF = "spkg.features:build"
# The user's own transformer: skops builds it only when shipyard.yaml trusts it.
TRUST = ModelTrust(trusted_types=("spkg.transformers.Clip",))
CLASSIFIER_PROJECT = {
    "spkg/__init__.py": "",
    "spkg/helpers.py": "SCALE = 3.0\n",
    "spkg/features.py": """
        import numpy as np
        import pandas as pd

        from spkg.helpers import SCALE


        def build(df):
            return pd.DataFrame(
                {"x": df["x"] * SCALE, "logsize": np.log1p(df["size"].abs()), "k": df["kind"]},
                index=df.index,
            )
    """,
    "spkg/transformers.py": """
        from sklearn.base import BaseEstimator, TransformerMixin


        class Clip(TransformerMixin, BaseEstimator):
            def __init__(self, limit=2.0):
                self.limit = limit

            def fit(self, X, y=None):
                return self

            def transform(self, X):
                return X.clip(-self.limit, self.limit)
    """,
    "spkg/train.py": """
        from sklearn.compose import ColumnTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder

        from spkg.transformers import Clip


        def train(X, y, params):
            encode = ColumnTransformer(
                [("num", Clip(), ["x", "logsize"]), ("cat", OneHotEncoder(), ["k"])]
            )
            return Pipeline([("encode", encode), ("model", LogisticRegression(**params))]).fit(X, y)
    """,
    "notes.py": "raise RuntimeError('not part of the model')\n",
}


@dataclass(frozen=True)
class Built:
    servable: Servable
    model_dir: Path
    raw: pd.DataFrame
    fingerprint: dict


def _raw(seed: int, n: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": x,
            "size": rng.integers(1, 500, size=n),
            "kind": rng.choice(["a", "b", "c"], size=n),
            "label": np.where(x + rng.normal(scale=0.5, size=n) > 0, "yes", "no"),
        }
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, make_project: Callable[..., Path]) -> Iterator[Built]:
    """A classifier with a features function and a custom transformer from the user's package."""
    path = list(sys.path)
    root = make_project(tmp_path_factory.mktemp("proj"), CLASSIFIER_PROJECT)
    raw = _raw(0)
    features = load_entrypoint(FEATURES_REF, root, key="entrypoints.features")
    train = load_entrypoint("spkg.train:train", root, key="entrypoints.train")
    X = features(raw.drop(columns="label"))
    estimator = fit(train, X, raw["label"], {"C": 0.5}, seed=0, task="classification")
    servable = Servable(estimator, features, task="classification", target="label")
    fingerprint = capture_fingerprint(model_packages(estimator))
    model_dir = package_model(
        servable,
        out_dir=tmp_path_factory.mktemp("build") / "model",
        project_root=root,
        features_ref=FEATURES_REF,
        code_files=source_files(train, root) + source_files(features, root),
        input_example=raw.head(5),
        fingerprint=fingerprint,
        trust=TRUST,
    )
    yield Built(servable, model_dir, raw, fingerprint)
    sys.path[:] = path


def test_model_folder_holds_estimator_code_and_metadata(built: Built) -> None:
    model = built.model_dir
    assert (model / "MLmodel").is_file() and (model / "artifacts/estimator/estimator.skops").is_file()
    assert not list(model.rglob("*.joblib")) and not list(model.rglob("*.pkl"))
    code = model / "code"
    shipped = sorted(p.relative_to(code).as_posix() for p in code.rglob("*.py"))
    assert shipped == [
        "notes.py",  # root-level modules ship too: entry points may import them as helpers
        "spkg/__init__.py",
        "spkg/features.py",
        "spkg/helpers.py",
        "spkg/train.py",
        "spkg/transformers.py",
    ]
    assert not (model / "python_model.pkl").exists()
    assert json.loads((model / "shipyard.json").read_text()) == {
        "format": "skops",
        "task": "classification",
        "target": "label",
        "classes": ["no", "yes"],
        "features_ref": FEATURES_REF,
        "fingerprint": built.fingerprint,
    }


def test_requirements_are_pinned_from_the_fingerprint(built: Built) -> None:
    lines = (built.model_dir / "requirements.txt").read_text().split()
    pinned = [f"{name}=={v}" for name, v in built.fingerprint["packages"].items()]
    assert set(pinned) <= set(lines)
    assert {line.split("==")[0] for line in lines} == {
        *built.fingerprint["packages"],
        "mlflow",
        "shipyard",
    }


def test_signature_takes_the_raw_columns_without_the_target(built: Built) -> None:
    mlmodel = yaml.safe_load((built.model_dir / "MLmodel").read_text())
    inputs = [c["name"] for c in json.loads(mlmodel["signature"]["inputs"])]
    outputs = [c["name"] for c in json.loads(mlmodel["signature"]["outputs"])]
    assert inputs == ["x", "size", "kind"]
    assert outputs == ["prediction", "proba_no", "proba_yes"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_load_servable_and_load_pyfunc_predict_as_in_process(built: Built, seed: int) -> None:
    raw = _raw(seed)
    expected = built.servable.predict_frame(raw)
    from_servable = load_servable(built.model_dir, TRUST).predict_frame(raw)
    from_pyfunc = load_pyfunc(built.model_dir, TRUST).predict(raw.drop(columns="label"))
    for frame in (from_servable, from_pyfunc):
        assert list(frame.columns) == list(expected.columns)
        np.testing.assert_array_equal(frame["prediction"], expected["prediction"])
        np.testing.assert_allclose(frame.iloc[:, 1:], expected.iloc[:, 1:], rtol=0, atol=1e-9)


_SUBPROCESS = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import pandas as pd

    from shipyard.training.packaging import ModelTrust, load_pyfunc, load_servable

    model, out = Path(sys.argv[1]), Path(sys.argv[2])
    raw = pd.read_parquet(out / "raw.parquet")
    trust = ModelTrust(trusted_types=("spkg.transformers.Clip",))
    load_servable(model, trust).predict_frame(raw).to_parquet(out / "servable.parquet")
    load_pyfunc(model, trust).predict(raw.drop(columns="label")).to_parquet(out / "pyfunc.parquet")
    (out / "origin.txt").write_text(sys.modules["spkg.features"].__file__)
    """
)


def test_model_loads_in_a_fresh_process_away_from_the_project(built: Built, tmp_path: Path) -> None:
    moved = shutil.copytree(built.model_dir, tmp_path / "elsewhere" / "model")
    work = tmp_path / "work"
    work.mkdir()
    raw = _raw(4)
    raw.to_parquet(work / "raw.parquet")
    done = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS, str(moved), str(work)],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert Path((work / "origin.txt").read_text()).is_relative_to(moved / "code")
    expected = built.servable.predict_frame(raw)
    for name in ("servable", "pyfunc"):
        frame = pd.read_parquet(work / f"{name}.parquet")
        np.testing.assert_array_equal(frame["prediction"], expected["prediction"])
        np.testing.assert_allclose(frame.iloc[:, 1:], expected.iloc[:, 1:], rtol=0, atol=1e-9)


def test_regressor_without_features_from_a_single_module(
    tmp_path: Path, make_project: Callable[..., Path]
) -> None:
    root = make_project(
        tmp_path / "proj",
        {
            "rtrain.py": """
                from sklearn.linear_model import Ridge

                def train(X, y, params):
                    return Ridge().fit(X, y)
            """
        },
    )
    raw = _raw(0).drop(columns="kind").assign(label=lambda d: 2 * d["x"] + d["size"] / 100)
    train = load_entrypoint("rtrain:train", root, key="entrypoints.train")
    estimator = fit(train, raw[["x", "size"]], raw["label"], {}, seed=0, task="regression")
    servable = Servable(estimator=estimator, features=None, task="regression", target="label")
    model_dir = package_model(
        servable,
        out_dir=tmp_path / "model",
        project_root=root,
        features_ref=None,
        code_files=source_files(train, root),
        input_example=raw.head(3),
        fingerprint=capture_fingerprint(model_packages(estimator)),
    )
    assert (model_dir / "code" / "rtrain.py").is_file()
    expected = servable.predict_frame(raw)
    pd.testing.assert_frame_equal(load_servable(model_dir).predict_frame(raw), expected)
    pyfunc = load_pyfunc(model_dir).predict(raw.drop(columns="label"))
    np.testing.assert_allclose(pyfunc["prediction"], expected["prediction"], rtol=0, atol=1e-9)


def test_refuses_a_non_empty_output_folder(built: Built, tmp_path: Path) -> None:
    (tmp_path / "taken.txt").write_text("x")
    with pytest.raises(ConfigError, match="already exists and is not empty"):
        package_model(
            built.servable,
            out_dir=tmp_path,
            project_root=tmp_path,
            features_ref=FEATURES_REF,
            code_files=[],
            input_example=built.raw.head(2),
            fingerprint=built.fingerprint,
        )


def test_refuses_a_features_ref_that_does_not_match_the_servable(built: Built, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="features_ref is None but the servable has a features"):
        package_model(
            built.servable,
            out_dir=tmp_path / "model",
            project_root=tmp_path,
            features_ref=None,
            code_files=[],
            input_example=built.raw.head(2),
            fingerprint=built.fingerprint,
        )


def test_load_servable_needs_a_shipyard_model_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not a Shipyard model folder: shipyard.json is missing"):
        load_servable(tmp_path)
