"""`TorchClassifier` and `TorchRegressor`: fitting, determinism, pickling, packaging, environment.

torch is imported inside tests and fixtures, never at module level: collecting this
file must not import it (tests/unit/core checks torch is not imported needlessly).
"""

from __future__ import annotations

import doctest
import importlib.metadata
import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from shipyard.errors import ConfigError

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="torch is an optional extra"
)
SEEDS = [0, 1, 2, 3, 4]


@pytest.fixture(scope="module", autouse=True)
def _torch_ready() -> Iterator[None]:
    """Import torch before conftest's per-test bookkeeping of new modules (which cannot read
    `torch.classes.__path__`: torch makes up any attribute of that module), and train on one
    thread: on a busy 2-core machine torch's spinning thread pool made tiny fits 10x slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def mlp(n_features: int, n_outputs: int):
    import torch

    return torch.nn.Sequential(
        torch.nn.Linear(n_features, 16), torch.nn.ReLU(), torch.nn.Linear(16, n_outputs)
    )


def not_a_module(n_features: int, n_outputs: int) -> str:
    return "linear"


def one_output(n_features: int, n_outputs: int):
    import torch

    return torch.nn.Linear(n_features, 1)


def _blobs(seed: int, n: int = 300) -> tuple[pd.DataFrame, pd.Series]:
    """Three well-separated classes with string labels."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(["ham", "spam", "eggs"], size=n)
    centres = {"ham": (-3.0, 0.0), "spam": (3.0, 0.0), "eggs": (0.0, 4.0)}
    xy = np.array([centres[c] for c in labels]) + rng.normal(size=(n, 2))
    return pd.DataFrame({"a": xy[:, 0], "b": xy[:, 1]}), pd.Series(labels, name="label")


def _classifier(**params):
    from shipyard.training.torch import TorchClassifier

    return TorchClassifier(**{"module": mlp, "epochs": 15, "lr": 0.02, "batch_size": 64, **params})


@pytest.mark.parametrize("seed", SEEDS)
def test_classifier_learns_separable_classes(seed: int) -> None:
    X, y = _blobs(seed)
    clf = _classifier(seed=seed).fit(X, y)
    X_new, y_new = _blobs(seed + 100)
    proba = clf.predict_proba(X_new)
    assert clf.classes_.tolist() == ["eggs", "ham", "spam"]
    assert clf.n_features_in_ == 2 and clf.feature_names_in_.tolist() == ["a", "b"]
    assert proba.shape == (len(X_new), 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (clf.predict(X_new) == y_new).mean() > 0.9
    np.testing.assert_array_equal(clf.predict(X_new), clf.classes_[proba.argmax(axis=1)])


@pytest.mark.parametrize("seed", SEEDS)
def test_regressor_learns_a_linear_target(seed: int) -> None:
    from shipyard.training.torch import TorchRegressor

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(400, 3)).astype(np.float64)
    y = 2.0 * X[:, 0] - X[:, 1] + 0.5 + rng.normal(scale=0.1, size=400)
    reg = TorchRegressor(mlp, epochs=40, lr=0.02, batch_size=32, seed=seed).fit(X, y)
    X_new = rng.normal(size=(200, 3))
    pred = reg.predict(X_new)
    assert pred.shape == (200,)
    assert reg.score(X_new, 2.0 * X_new[:, 0] - X_new[:, 1] + 0.5) > 0.9
    two = TorchRegressor(mlp, epochs=2, seed=seed).fit(X, np.column_stack([y, -y]))
    assert two.predict(X_new).shape == (200, 2)


def test_same_seed_same_probabilities_and_global_rng_untouched() -> None:
    import torch

    X, y = _blobs(0)
    before = torch.random.get_rng_state()
    first = _classifier(seed=7).fit(X, y).predict_proba(X)
    again = _classifier(seed=7).fit(X, y).predict_proba(X)
    other = _classifier(seed=8).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 1e-4
    assert torch.equal(torch.random.get_rng_state(), before)


def test_joblib_round_trip_keeps_predictions_and_the_original_model(tmp_path: Path) -> None:
    import torch

    X, y = _blobs(1)
    clf = _classifier().fit(X, y)
    expected = clf.predict_proba(X)
    joblib.dump(clf, tmp_path / "clf.joblib")
    assert isinstance(clf.module_, torch.nn.Module), "pickling must not strip the live model"
    before = torch.random.get_rng_state()
    loaded = joblib.load(tmp_path / "clf.joblib")
    assert torch.equal(torch.random.get_rng_state(), before)
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    assert loaded.classes_.tolist() == clf.classes_.tolist() and not loaded.module_.training
    assert all(p.device.type == "cpu" for p in loaded.module_.parameters())


def test_clone_gives_an_unfitted_copy_with_the_same_parameters() -> None:
    X, y = _blobs(2)
    clf = _classifier(epochs=3, weight_decay=0.01).fit(X, y)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params() and not hasattr(copy, "module_")
    assert "epochs=3" in repr(clf)


def test_predicting_no_rows_gives_empty_outputs() -> None:
    X, y = _blobs(3)
    clf = _classifier(epochs=1).fit(X, y)
    assert clf.predict_proba(X.iloc[:0]).shape == (0, 3)
    assert clf.predict(X.iloc[:0]).shape == (0,)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"epochs": 0}, "The 'epochs' option of TorchClassifier must be an int in [1, inf). Got 0"),
        ({"lr": 0.0}, "The 'lr' option of TorchClassifier must be a float in (0, inf). Got 0.0"),
        ({"batch_size": 1.5}, "The 'batch_size' option of TorchClassifier must be an int"),
        ({"weight_decay": -1}, "The 'weight_decay' option of TorchClassifier must be a float in [0"),
        ({"seed": -1}, "The 'seed' option of TorchClassifier must be an int in [0, inf). Got -1"),
        ({"device": 0}, "The 'device' option of TorchClassifier must be a string. Got 0"),
        ({"device": "warp-drive"}, "must name a torch device such as 'cpu' or 'cuda'"),
        ({"module": lambda n, k: None}, "must be a module-level function or class"),
        ({"module": not_a_module}, "must return a torch.nn.Module. module(2, 3) returned str"),
        ({"module": one_output}, "returned shape (64, 1) for 64 rows; expected (64, 3)"),
    ],
)
def test_bad_parameters_are_named_with_the_value(params: dict, message: str) -> None:
    X, y = _blobs(0)
    with pytest.raises(ConfigError) as caught:
        _classifier(**params).fit(X, y)
    assert message in str(caught.value)


def test_cuda_without_a_gpu_says_to_use_the_cpu() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine without a CUDA GPU")
    X, y = _blobs(0)
    with pytest.raises(ConfigError, match=r"torch.cuda.is_available\(\) is False. Use device='cpu'"):
        _classifier(device="cuda").fit(X, y)


def test_cuda_training_returns_a_cpu_model_that_pickles(tmp_path: Path) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    X, y = _blobs(4)
    clf = _classifier(device="cuda").fit(X, y)
    assert all(p.device.type == "cpu" for p in clf.module_.parameters())
    assert (clf.predict(X) == y).mean() > 0.9
    joblib.dump(clf, tmp_path / "clf.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "clf.joblib").predict_proba(X), clf.predict_proba(X))
    from shipyard.training.torch import load_torch, save_torch

    (tmp_path / "torch").mkdir()
    save_torch(clf, tmp_path / "torch")  # the safe format loads on a CPU-only machine too
    loaded = load_torch(tmp_path / "torch", code_modules=_top(mlp))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (pd.DataFrame({"a": [1.0, 2.0], "c": ["x", "y"]}), [0, 1], "column 'c' has dtype"),
        (pd.DataFrame({"a": [1.0, np.nan, 3.0]}), [0, 1, 0], "feature 'a' has 1 missing or infinite"),
        (np.array([[1.0], [np.inf]]), [0, 1], "feature 0 has 1 missing or infinite"),
        (np.array([1.0, 2.0]), [0, 1], "needs a 2-D X (rows x features). Got shape (2,)"),
        (pd.DataFrame({"a": [1.0, 2.0]}), [1, 1], "needs at least 2 classes in y. Got only [1]"),
        (pd.DataFrame({"a": [1.0, 2.0]}), [0, None], "without missing values. Got shape (2,) with 1"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), [0, 1], "X has 3 rows but y has 2"),
    ],
)
def test_bad_training_data_is_named(X: object, y: list, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _classifier(epochs=1).fit(X, y)
    assert message in str(caught.value)


def test_prediction_columns_must_match_training() -> None:
    X, y = _blobs(0)
    clf = _classifier(epochs=1).fit(X, y)
    with pytest.raises(ConfigError, match="X has 1 features, but TorchClassifier was fitted with 2"):
        clf.predict(X[["a"]])
    with pytest.raises(ConfigError, match=r"X has columns \['b', 'a'\], but .* fitted with \['a', 'b'\]"):
        clf.predict_proba(X[["b", "a"]])
    np.testing.assert_array_equal(clf.predict(X.to_numpy()), clf.predict(X))
    refit = clf.fit(X.to_numpy(), y)
    assert not hasattr(refit, "feature_names_in_")
    refit.predict(X[["b", "a"]])


def test_environment_fingerprint_lists_torch_and_records_cuda(tmp_path: Path) -> None:
    import torch

    from shipyard.core.environment import capture_fingerprint, model_packages

    X, y = _blobs(0)
    clf = _classifier(epochs=1).fit(X, y)
    joblib.dump(clf, tmp_path / "clf.joblib")
    for model in (clf, joblib.load(tmp_path / "clf.joblib")):
        assert {"torch", "scikit-learn", "numpy"} <= set(model_packages(model))
    fingerprint = capture_fingerprint(model_packages(clf))
    assert fingerprint["packages"]["torch"] == importlib.metadata.version("torch")
    assert fingerprint["cuda"]["checked"] is True
    assert fingerprint["cuda"]["available"] is torch.cuda.is_available()
    assert fingerprint["cuda"]["version"] == torch.version.cuda


TORCH_PROJECT = {
    "tmodel.py": """
        import pandas as pd
        import torch

        from shipyard.training.torch import TorchClassifier


        def features(df):
            return pd.DataFrame({"a": df["a"], "b2": df["b"] * 2.0}, index=df.index)


        def net(n_features, n_outputs):
            return torch.nn.Sequential(
                torch.nn.Linear(n_features, 8), torch.nn.Tanh(), torch.nn.Linear(8, n_outputs)
            )


        def train(X, y, params):
            return TorchClassifier(net, epochs=params["epochs"], lr=0.02, batch_size=64).fit(X, y)
    """
}


def test_packaged_model_loads_through_servable_and_pyfunc(
    tmp_path: Path, make_project: Callable[..., Path]
) -> None:
    from shipyard.core.environment import capture_fingerprint, model_packages
    from shipyard.training.entrypoints import load_entrypoint, source_files
    from shipyard.training.fitting import fit
    from shipyard.training.packaging import Servable, load_pyfunc, load_servable, package_model

    root = make_project(tmp_path / "proj", TORCH_PROJECT)
    X, y = _blobs(5)
    raw = X.assign(label=y)
    features = load_entrypoint("tmodel:features", root, key="entrypoints.features")
    train = load_entrypoint("tmodel:train", root, key="entrypoints.train")
    estimator = fit(train, features(X), y, {"epochs": 10}, seed=0, task="classification")
    servable = Servable(estimator, features, task="classification", target="label")
    fingerprint = capture_fingerprint(model_packages(estimator))
    model_dir = package_model(
        servable,
        out_dir=tmp_path / "model",
        project_root=root,
        features_ref="tmodel:features",
        code_files=source_files(train, root),
        input_example=raw.head(5),
        fingerprint=fingerprint,
    )
    requirements = (model_dir / "requirements.txt").read_text().split()
    assert f"torch=={fingerprint['packages']['torch'].split('+')[0]}" in requirements
    expected = servable.predict_frame(raw)
    assert list(expected.columns) == ["prediction", "proba_eggs", "proba_ham", "proba_spam"]
    assert (expected["prediction"] == y).mean() > 0.9
    loaded = load_servable(model_dir)
    assert Path(sys.modules["tmodel"].__file__).is_relative_to(model_dir / "code")
    pd.testing.assert_frame_equal(loaded.predict_frame(raw), expected)
    from_pyfunc = load_pyfunc(model_dir).predict(raw.drop(columns="label"))
    np.testing.assert_array_equal(from_pyfunc["prediction"], expected["prediction"])
    np.testing.assert_allclose(from_pyfunc.iloc[:, 1:], expected.iloc[:, 1:], rtol=0, atol=1e-12)


def test_docstring_example_runs() -> None:
    import shipyard.training.torch as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_importing_the_adapter_does_not_import_torch() -> None:
    code = "import sys, shipyard.training.torch; print('torch' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"


def _top(factory: Callable) -> frozenset[str]:
    return frozenset({factory.__module__.partition(".")[0]})


def test_torch_format_round_trip_without_pickle(tmp_path: Path) -> None:
    from shipyard.training.torch import TorchRegressor, load_torch, save_torch

    X, y = _blobs(1)
    clf = _classifier().fit(X, y)
    save_torch(clf, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["estimator.json", "weights.pt"]
    loaded = load_torch(tmp_path, code_modules=_top(mlp))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.predict(X).tolist() == clf.predict(X).tolist() and not loaded.module_.training

    import torch

    values = X["a"].to_numpy() * 2.0
    reg = TorchRegressor(torch.nn.Linear, epochs=5).fit(X, values)
    (tmp_path / "reg").mkdir()
    save_torch(reg, tmp_path / "reg")
    again = load_torch(tmp_path / "reg", code_modules=frozenset())  # torch's own factory
    np.testing.assert_array_equal(again.predict(X), reg.predict(X))
    assert again.predict(X).shape == (len(X),)


def test_torch_factory_must_come_from_the_shipped_code_or_torch(tmp_path: Path) -> None:
    from shipyard.errors import IntegrityError
    from shipyard.training.torch import load_torch, save_torch

    X, y = _blobs(2)
    save_torch(_classifier().fit(X, y), tmp_path)
    with pytest.raises(IntegrityError, match="must come from the code shipped in the model or from torch"):
        load_torch(tmp_path, code_modules=frozenset())
    document = json.loads((tmp_path / "estimator.json").read_text())
    (tmp_path / "estimator.json").write_text(json.dumps({**document, "factory": "os:system"}))
    with pytest.raises(IntegrityError, match="'os:system'"):
        load_torch(tmp_path, code_modules=_top(mlp))


def test_torch_weights_holding_a_pickle_payload_are_never_run(tmp_path: Path) -> None:
    import pickle

    from shipyard.errors import IntegrityError
    from shipyard.training.torch import load_torch, save_torch

    X, y = _blobs(3)
    save_torch(_classifier().fit(X, y), tmp_path)
    marker = tmp_path / "marker"

    class Payload:
        def __reduce__(self) -> tuple:
            return (exec, (f"open({str(marker)!r}, 'w').write('pwned')",))

    import torch

    torch.save({"0.weight": Payload()}, tmp_path / "weights.pt", pickle_module=pickle)
    with pytest.raises(IntegrityError, match="holds more than tensors"):
        load_torch(tmp_path, code_modules=_top(mlp))
    assert not marker.exists()
