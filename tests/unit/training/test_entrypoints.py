"""Importing the user's `module:function` references, and the files behind them."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sklearn.metrics import accuracy_score

from shipyard.errors import ConfigError, EntryPointError
from shipyard.training.entrypoints import load_entrypoint, source_files

PACKAGE = {
    "epkg/__init__.py": "",
    "epkg/train.py": """
        from epkg.helpers.scale import SCALE

        THRESHOLD = 3

        def train(X, y, params):
            return SCALE
    """,
    "epkg/helpers/__init__.py": "",
    "epkg/helpers/scale.py": "SCALE = 2\n",
    "epkg/__pycache__/stale.py": "",
    "epkg/.hidden/notes.py": "",
    "loose.py": "def build(df):\n    return df\n",
    "other/__init__.py": "",
}


@pytest.fixture
def project(tmp_path: Path, make_project: Callable[..., Path]) -> Path:
    return make_project(tmp_path / "proj", PACKAGE)


def test_loads_a_function_from_a_package_and_from_a_single_module(project: Path) -> None:
    train = load_entrypoint("epkg.train:train", project, key="entrypoints.train")
    build = load_entrypoint("loose:build", project, key="entrypoints.features")
    assert train(None, None, {}) == 2
    assert build("rows") == "rows"


def test_project_root_goes_first_on_sys_path_once(project: Path) -> None:
    sys.path.append(str(project))
    load_entrypoint("epkg.train:train", project, key="entrypoints.train")
    load_entrypoint("loose:build", project, key="entrypoints.features")
    assert sys.path[0] == str(project)
    assert sys.path.count(str(project)) == 1


@pytest.mark.parametrize("ref", ["epkg.train", ":train", "epkg.train:", " : "])
def test_malformed_reference(project: Path, ref: str) -> None:
    with pytest.raises(EntryPointError, match="is not a 'module:function' reference") as info:
        load_entrypoint(ref, project, key="entrypoints.train")
    assert str(info.value).startswith("shipyard.yaml: entrypoints.train:")
    assert repr(ref) in str(info.value)


def test_missing_module_names_the_module_and_project_folder(project: Path) -> None:
    with pytest.raises(EntryPointError) as info:
        load_entrypoint("nopkg_zz.train:train", project, key="entrypoints.train")
    assert str(info.value) == (
        "shipyard.yaml: entrypoints.train: cannot import module 'nopkg_zz.train' "
        "(ModuleNotFoundError: No module named 'nopkg_zz'). Modules are imported from the "
        f"project folder {project.resolve()}; check the module path."
    )
    assert isinstance(info.value, ConfigError) and isinstance(info.value, ValueError)


def test_misspelt_submodule_suggests_the_close_one(project: Path) -> None:
    with pytest.raises(EntryPointError, match=r"Did you mean 'epkg\.train'\?"):
        load_entrypoint("epkg.trian:train", project, key="entrypoints.train")


def test_missing_attribute_suggests_close_names(project: Path) -> None:
    with pytest.raises(EntryPointError) as info:
        load_entrypoint("epkg.train:trian", project, key="entrypoints.train")
    assert str(info.value) == (
        "shipyard.yaml: entrypoints.train: module 'epkg.train' has no attribute 'trian'. "
        "Did you mean 'train'?"
    )


def test_missing_attribute_without_close_names_lists_public_ones(project: Path) -> None:
    with pytest.raises(EntryPointError, match=r"Public names in it: SCALE, THRESHOLD, train\."):
        load_entrypoint("epkg.train:zzz", project, key="entrypoints.train")


def test_attribute_that_is_not_callable(project: Path) -> None:
    with pytest.raises(EntryPointError) as info:
        load_entrypoint("epkg.train:THRESHOLD", project, key="entrypoints.train")
    assert "'epkg.train:THRESHOLD' is not callable (got int)" in str(info.value)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def train(:\n", "SyntaxError"),
        ("raise RuntimeError('no database here')\n", "RuntimeError: no database here"),
        ("CONSTANT = 1 / 0\n", "ZeroDivisionError: division by zero"),
    ],
)
def test_errors_raised_while_importing_user_code(
    tmp_path: Path, make_project: Callable[..., Path], source: str, expected: str
) -> None:
    root = make_project(tmp_path, {"broken_mod.py": source})
    with pytest.raises(EntryPointError) as info:
        load_entrypoint("broken_mod:train", root, key="entrypoints.train")
    message = str(info.value)
    assert message.startswith("shipyard.yaml: entrypoints.train: importing module 'broken_mod' raised")
    assert expected in message


def test_user_module_importing_a_missing_dependency(
    tmp_path: Path, make_project: Callable[..., Path]
) -> None:
    root = make_project(tmp_path, {"needs_dep.py": "import not_installed_zz\n"})
    with pytest.raises(EntryPointError) as info:
        load_entrypoint("needs_dep:train", root, key="entrypoints.train")
    assert "No module named 'not_installed_zz'" in str(info.value)
    assert "not installed" in str(info.value)


def test_same_package_name_in_two_projects_imports_each_projects_own_code(
    tmp_path: Path, make_project: Callable[..., Path]
) -> None:
    def twin(name: str) -> dict[str, str]:
        return {"twin/__init__.py": "", "twin/m.py": f"def f():\n    return {name!r}\n"}

    first = make_project(tmp_path / "a", twin("a"))
    second = make_project(tmp_path / "b", twin("b"))
    assert load_entrypoint("twin.m:f", first, key="k")() == "a"
    assert load_entrypoint("twin.m:f", second, key="k")() == "b"
    assert load_entrypoint("twin.m:f", first, key="k")() == "a"


def test_source_files_of_a_package_lists_its_files_and_the_root_level_modules(
    project: Path,
) -> None:
    train = load_entrypoint("epkg.train:train", project, key="entrypoints.train")
    root = project.resolve()
    assert source_files(train, project) == [
        root / "epkg/__init__.py",
        root / "epkg/helpers/__init__.py",
        root / "epkg/helpers/scale.py",
        root / "epkg/train.py",
        root / "loose.py",
    ]


def test_source_files_of_a_single_module_is_that_file(project: Path) -> None:
    build = load_entrypoint("loose:build", project, key="entrypoints.features")
    assert source_files(build, project) == [project.resolve() / "loose.py"]
    assert source_files(functools.partial(build), project) == [project.resolve() / "loose.py"]


def test_source_files_of_an_installed_function_is_its_own_file(project: Path) -> None:
    files = source_files(accuracy_score, project)
    assert len(files) == 1 and files[0].name == "_classification.py"
    assert "sklearn" in files[0].parts


def test_a_packaged_copy_of_the_code_under_the_state_folder_is_not_the_projects(project: Path) -> None:
    # Loading a cached model imports its packaged copy of the code (under .shipyard/); a later
    # train in the same process (a worker, a retrain loop) must import the project's own files.
    copy = project / ".shipyard" / "cache" / "train" / "k" / "model" / "code"
    (copy / "loose.py").parent.mkdir(parents=True)
    (copy / "loose.py").write_text("def build(df):\n    return 'copy'\n")
    sys.path.insert(0, str(copy))
    try:
        __import__("loose")
    finally:
        sys.path.remove(str(copy))
    build = load_entrypoint("loose:build", project, key="entrypoints.features")
    assert build("rows") == "rows"
    assert source_files(build, project) == [(project / "loose.py").resolve()]
