"""Environment fingerprints: capture, the packages a model needs, comparison, git state."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import sklearn
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from shipyard.core.environment import (
    BASE_PACKAGES,
    Mismatch,
    capture_fingerprint,
    compare_fingerprints,
    git_state,
    model_packages,
    runtime_key,
)


class YamlBackedModel(yaml.YAMLObject):
    """A model whose class comes from an installed non-base distribution (PyYAML)."""

    def predict(self, X: object) -> object:
        return X


class Wrapper:
    """A user's own class holding a model in an attribute."""

    def __init__(self, model: object) -> None:
        self.model = model

    def predict(self, X: object) -> object:
        return X


def test_fingerprint_records_python_platform_and_package_versions() -> None:
    fingerprint = capture_fingerprint(["NumPy", "scikit_learn", "surely-not-installed-zz"])
    assert fingerprint["python"] == ".".join(map(str, sys.version_info[:3]))
    assert fingerprint["implementation"] in {"CPython", "PyPy"}
    assert fingerprint["machine"] and fingerprint["system"]
    assert isinstance(fingerprint["cpu_count"], int)
    assert fingerprint["packages"] == {
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "surely-not-installed-zz": None,
    }


def test_cuda_is_not_checked_and_torch_not_imported_when_the_model_does_not_use_it() -> None:
    # A fresh interpreter: another test in this process may have imported torch already.
    script = (
        "import sys\n"
        "from shipyard.core.environment import capture_fingerprint\n"
        "cuda = capture_fingerprint(['numpy'])['cuda']\n"
        "print(cuda == {'available': False, 'checked': False}, 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_cuda_is_checked_when_torch_is_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in module with torch's CUDA API, so the test needs neither torch nor a GPU.
    cuda = types.SimpleNamespace(
        is_available=lambda: True, device_count=lambda: 1, get_device_name=lambda i: f"GPU {i}"
    )
    fake = types.SimpleNamespace(cuda=cuda, version=types.SimpleNamespace(cuda="12.4"))
    monkeypatch.setitem(sys.modules, "torch", fake)
    assert capture_fingerprint(["numpy"])["cuda"] == {
        "available": True,
        "checked": True,
        "version": "12.4",
        "devices": ["GPU 0"],
    }


def test_model_packages_of_a_plain_sklearn_model_is_the_base_stack() -> None:
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    scale = ColumnTransformer([("s", StandardScaler(), [0, 1]), ("p", "passthrough", [2])])
    vote = VotingClassifier(
        [("gb", GradientBoostingClassifier(n_estimators=3)), ("lr", LogisticRegression())]
    )
    model = Pipeline([("scale", scale), ("vote", vote)]).fit(X, y)
    assert model_packages(model) == sorted(BASE_PACKAGES)


def test_model_packages_finds_distributions_of_nested_models() -> None:
    nested = Pipeline([("scale", StandardScaler()), ("model", YamlBackedModel())])
    assert "pyyaml" in model_packages(nested)
    assert "pyyaml" in model_packages(Wrapper(YamlBackedModel()))
    assert model_packages(Wrapper(LogisticRegression())) == sorted(BASE_PACKAGES)


RECORDED = {
    "python": "3.11.7",
    "machine": "x86_64",
    "packages": {"numpy": "2.4.6", "scikit-learn": "1.9.1"},
    "cuda": {"available": True, "checked": True},
}


def test_identical_fingerprints_and_patch_releases_of_python_match() -> None:
    assert compare_fingerprints(RECORDED, RECORDED) == []
    assert compare_fingerprints(RECORDED, {**RECORDED, "python": "3.11.9"}) == []


def test_every_difference_is_reported() -> None:
    current = {
        "python": "3.12.1",
        "machine": "arm64",
        "packages": {"numpy": "2.4.6", "scikit-learn": "1.10.0", "extra": "1.0"},
        "cuda": {"available": False, "checked": True},
    }
    assert compare_fingerprints(RECORDED, current) == [
        Mismatch("python", "3.11", "3.12"),
        Mismatch("machine", "x86_64", "arm64"),
        Mismatch("packages.scikit-learn", "1.9.1", "1.10.0"),
        Mismatch("cuda.available", True, False),
    ]


def test_missing_package_and_unchecked_cuda() -> None:
    recorded = {**RECORDED, "cuda": {"available": False, "checked": False}}
    current = {**RECORDED, "packages": {"numpy": "2.4.6"}, "cuda": {"available": True}}
    mismatches = compare_fingerprints(recorded, current)
    assert mismatches == [Mismatch("packages.scikit-learn", "1.9.1", None)]
    assert str(mismatches[0]) == "packages.scikit-learn: recorded 1.9.1, current None"
    with pytest.raises(dataclasses.FrozenInstanceError):
        mismatches[0].field = "other"  # type: ignore[misc]


def test_fingerprint_of_this_environment_matches_itself() -> None:
    fingerprint = capture_fingerprint(BASE_PACKAGES)
    assert compare_fingerprints(fingerprint, capture_fingerprint(BASE_PACKAGES)) == []


def test_runtime_key() -> None:
    key = runtime_key()
    assert key == {
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "numpy": np.__version__,
        "pandas": key["pandas"],
        "scikit-learn": sklearn.__version__,
        "shipyard": key["shipyard"],
    }
    assert key["pandas"] and key["shipyard"]


def _git(root: Path, *args: str) -> str:
    command = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "trunk")
    (root / "a.txt").write_text("one\n")
    _git(root, "add", "a.txt")
    _git(root, "commit", "-q", "-m", "first")
    return root


def test_git_state_of_a_clean_repository(repo: Path) -> None:
    commit = _git(repo, "rev-parse", "HEAD")
    assert git_state(repo) == {"commit": commit, "dirty": False, "branch": "trunk"}


def test_untracked_files_do_not_make_it_dirty_but_edits_do(repo: Path) -> None:
    (repo / "new.txt").write_text("untracked\n")
    assert git_state(repo)["dirty"] is False
    (repo / "a.txt").write_text("two\n")
    assert git_state(repo)["dirty"] is True


def test_detached_head_has_no_branch(repo: Path) -> None:
    _git(repo, "checkout", "-q", "--detach")
    state = git_state(repo)
    assert state["branch"] is None and state["commit"] == _git(repo, "rev-parse", "HEAD")


def test_folder_outside_a_repository_gives_nones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    (tmp_path / "plain").mkdir()
    assert git_state(tmp_path / "plain") == {"commit": None, "dirty": None, "branch": None}


def test_missing_git_gives_nones(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    assert git_state(repo) == {"commit": None, "dirty": None, "branch": None}
