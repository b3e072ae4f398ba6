"""The pytest plugin's project fixtures and errors, run in-process with pytester (no registry)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import sklearn.model_selection  # noqa: F401

import shipyard.pipeline.stages  # noqa: F401 - imported once here: pytester's in-process runs
import shipyard.training.packaging  # noqa: F401 - drop modules they import, so each would re-import them
from shipyard.config.settings import MODEL_DIR_ENV
from shipyard.testing import pytest_plugin

pytest_plugins = ["pytester"]

POLICY = """\
name: plugged
data: {source: data.csv, target: label}
entrypoints: {train: model:train}
split: {method: random, test_size: 0.25, seed: 3}
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=40), "label": rng.integers(0, 2, 40)})
    frame.to_csv(pytester.path / "data.csv", index=False)
    (pytester.path / "shipyard.yaml").write_text(POLICY)
    return pytester


def test_the_plugin_is_registered_and_imports_nothing_heavy():
    code = (
        "import sys, shipyard.testing.pytest_plugin as p; "
        "print(sorted(m for m in ('mlflow', 'pandas', 'sklearn', 'shipyard.config') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    from importlib.metadata import entry_points

    [plugin] = [ep for ep in entry_points(group="pytest11") if ep.name == "shipyard"]
    assert plugin.value == "shipyard.testing.pytest_plugin"
    assert MODEL_DIR_ENV.name == pytest_plugin.MODEL_DIR_VARIABLE


def test_project_policy_and_test_split_fixtures(project: pytest.Pytester):
    project.makepyfile(
        textwrap.dedent(
            """\
            def test_fixtures(shipyard_project, shipyard_policy, shipyard_test_split):
                assert shipyard_project.root.name == shipyard_project.root.resolve().name
                assert shipyard_policy.name == "plugged"
                assert len(shipyard_test_split) == 10
                assert list(shipyard_test_split.columns) == ["x", "label"]
                assert list(shipyard_test_split.index) == list(range(10))
            """
        )
    )
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_project_is_found_from_a_subfolder_or_given(project: pytest.Pytester):
    sub = project.mkpydir("tests_sub")
    (sub / "test_sub.py").write_text(
        "def test_name(shipyard_policy):\n    assert shipyard_policy.name == 'plugged'\n"
    )
    project.runpytest("-p", "no:cacheprovider", str(sub), f"--rootdir={sub}").assert_outcomes(passed=1)
    project.runpytest(
        "-p", "no:cacheprovider", str(sub), f"--shipyard-project={project.path}"
    ).assert_outcomes(passed=1)


def test_outside_a_project_the_error_says_what_to_do(pytester: pytest.Pytester):
    pytester.makepyfile("def test_p(shipyard_project):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*shipyard: no shipyard.yaml found in *Run pytest inside a Shipyard project*"]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def test_a_model_folder_that_is_not_one_is_named(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(MODEL_DIR_ENV.name, str(project.path))
    project.makepyfile("def test_m(shipyard_model):\n    pass\n")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*$SHIPYARD_MODEL_DIR: * is not a Shipyard model folder*"])


def test_a_broken_policy_is_reported_as_such(project: pytest.Pytester):
    (project.path / "shipyard.yaml").write_text(POLICY.replace("target", "taget"))
    project.makepyfile("def test_p(shipyard_policy):\n    pass\n")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*shipyard: cannot load the project at *", "*data.taget: unknown key*"])
    result.stdout.no_fnmatch_line("*During handling*")
