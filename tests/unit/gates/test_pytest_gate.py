"""The `pytest` gate: runs a test folder in a subprocess and judges the pass rate from JUnit XML."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from shipyard.core.results import Reason, Status
from shipyard.errors import ConfigError
from shipyard.evaluation import ModelOutputs
from shipyard.gates import GateContext
from shipyard.gates.pytest_gate import JunitOutcomes, PytestGate, read_junit

JUNIT = """\
<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="4" failures="1" errors="1" skipped="1">
  <testcase classname="tests.model.test_a" name="test_ok" time="0.1"/>
  <testcase classname="tests.model.test_a" name="test_bad" time="0.1">
    <failure message="assert 0.4 &gt; 0.5">long traceback</failure>
  </testcase>
  <testcase classname="tests.model.test_b" name="test_broken" time="0.1">
    <error message="">fixture exploded
RuntimeError: no model</error>
  </testcase>
  <testcase classname="tests.model.test_b" name="test_later" time="0.0">
    <skipped message="not yet"/>
  </testcase>
</testsuite></testsuites>
"""


def _context(tmp_path: Path, model_dir: Path | None) -> GateContext:
    y = np.array([0, 1])
    outputs = ModelOutputs(y, np.array([[0.9, 0.1], [0.2, 0.8]]), (0, 1))
    return GateContext(
        task="classification",
        y_true=y,
        candidate=outputs,
        metrics={},
        model_dir=model_dir,
        project_root=tmp_path,
    )


def test_junit_outcomes_are_counted_and_failures_named(tmp_path):
    (tmp_path / "junit.xml").write_text(JUNIT)
    outcomes = read_junit(tmp_path / "junit.xml")
    assert (outcomes.passed, outcomes.skipped, outcomes.ran) == (1, 1, 3)
    assert outcomes.failing == [
        {"test": "tests.model.test_a::test_bad", "outcome": "failure", "message": "assert 0.4 > 0.5"},
        {"test": "tests.model.test_b::test_broken", "outcome": "error", "message": "RuntimeError: no model"},
    ]


@pytest.mark.parametrize(
    ("passed", "failing", "min_rate", "status", "reason"),
    [
        (3, 0, 1.0, Status.PASSED, None),
        (3, 1, 1.0, Status.FAILED, Reason.TESTS_FAILED),
        (3, 1, 0.75, Status.PASSED, None),
        (0, 0, 0.0, Status.FAILED, Reason.INCONCLUSIVE),
    ],
)
def test_the_verdict_compares_the_pass_rate(passed, failing, min_rate, status, reason):
    outcomes = JunitOutcomes(
        passed=passed,
        failing=[{"test": f"t{i}", "outcome": "failure", "message": "m"} for i in range(failing)],
    )
    result = PytestGate(min_pass_rate=min_rate)._verdict(outcomes, exit_code=1 if failing else 0)
    assert (result.status, result.reason) == (status, reason)
    assert result.evidence["failed"] == failing


def test_a_missing_test_folder_is_a_config_error(tmp_path):
    with pytest.raises(
        ConfigError, match=r"'path' option of gate 'pytest' is 'tests/model', but .+ does not exist"
    ):
        PytestGate().evaluate(_context(tmp_path, tmp_path))


def test_without_the_packaged_candidate_the_gate_cannot_run(tmp_path):
    (tmp_path / "tests").mkdir()
    with pytest.raises(ConfigError, match=r"needs the packaged candidate"):
        PytestGate(path="tests").evaluate(_context(tmp_path, None))


def _write_tests(tmp_path: Path, body: str) -> Path:
    folder = tmp_path / "tests" / "model"
    folder.mkdir(parents=True)
    (folder / "test_model.py").write_text(textwrap.dedent(body))
    return folder


def test_a_real_run_counts_passes_and_names_failures(tmp_path):
    # The tests read the variable the gate sets, so the run proves the candidate is passed on.
    _write_tests(
        tmp_path,
        """\
        import os

        def test_sees_the_candidate():
            assert os.environ["SHIPYARD_MODEL_DIR"].endswith("candidate")

        def test_fails():
            assert 1 == 2, "one is not two"
        """,
    )
    (tmp_path / "candidate").mkdir()
    result = PytestGate(path="tests/model", min_pass_rate=0.5).evaluate(
        _context(tmp_path, tmp_path / "candidate")
    )
    assert result.status is Status.PASSED, result.message
    assert result.message.startswith("1 of 2 tests passed (50.0%)")
    assert result.observed == 0.5
    [failure] = result.examples
    assert failure["test"].endswith("test_model::test_fails") and "one is not two" in failure["message"]


def test_tests_that_run_too_long_fail_the_gate(tmp_path):
    _write_tests(tmp_path, "def test_slow():\n    import time\n    time.sleep(60)\n")
    result = PytestGate(path="tests/model", timeout_s=0.5).evaluate(_context(tmp_path, tmp_path))
    assert (result.status, result.reason) == (Status.FAILED, Reason.INCONCLUSIVE)
    assert "longer than 0.5 s" in result.message
