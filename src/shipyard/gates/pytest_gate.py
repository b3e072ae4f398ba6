"""Run a team's own pytest module against the packaged candidate and count its verdicts.

The tests use the fixtures of `shipyard.testing.pytest_plugin` (`shipyard_model`,
`shipyard_test_split`, ...). The gate runs pytest in a subprocess, so the tests
cannot disturb the pipeline's process, with `SHIPYARD_MODEL_DIR` pointing at the
unregistered candidate's folder, and reads the verdicts from pytest's JUnit XML.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.config.settings import MODEL_DIR_ENV
from shipyard.core.params import STRING, Interval
from shipyard.core.results import CheckResult, Reason, Status
from shipyard.errors import ConfigError
from shipyard.gates.base import Gate, GateContext

_MAX_EXAMPLES = 10
_MAX_MESSAGE = 500
# pytest's exit codes: 0 all passed, 1 some failed, 2 interrupted, 3 internal error,
# 4 usage error, 5 no tests collected.
_NO_TESTS = 5
_UNUSABLE = (3, 4)


@dataclass
class JunitOutcomes:
    """Counts and failing tests read from one JUnit XML file."""

    passed: int = 0
    skipped: int = 0
    failing: list[dict[str, str]] = field(default_factory=list)

    @property
    def ran(self) -> int:
        return self.passed + len(self.failing)


def read_junit(path: Path) -> JunitOutcomes:
    """Outcomes of every test case in a JUnit XML report written by `pytest --junitxml`."""
    outcomes = JunitOutcomes()
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        test = "::".join(part for part in (case.get("classname", ""), case.get("name", "")) if part)
        problem = next((child for child in case if child.tag in ("failure", "error")), None)
        if problem is not None:
            lines = (problem.text or "").strip().splitlines()
            message = problem.get("message") or (lines[-1] if lines else "")
            outcomes.failing.append({"test": test, "outcome": problem.tag, "message": message[:_MAX_MESSAGE]})
        elif any(child.tag == "skipped" for child in case):
            outcomes.skipped += 1
        else:
            outcomes.passed += 1
    return outcomes


class PytestGate(Gate):
    """Pass when at least `min_pass_rate` of the tests under `path` pass on the candidate.

    `path` (a folder or file, relative to the project) holds ordinary pytest tests;
    skipped tests do not count. Tests that run longer than `timeout_s` in all fail the gate.

    Examples
    --------
    >>> PytestGate(path="tests/model", min_pass_rate=0.95)
    PytestGate(path='tests/model', min_pass_rate=0.95)
    """

    type_name = "pytest"
    needs = frozenset({"model_dir"})
    _parameter_constraints = {
        "path": [STRING],
        "min_pass_rate": [Interval(float, 0, 1)],
        "timeout_s": [Interval(float, 0, None, "neither")],
    }

    def __init__(self, *, path: str = "tests/model", min_pass_rate: float = 1.0, timeout_s: float = 600.0):
        self.path = path
        self.min_pass_rate = min_pass_rate
        self.timeout_s = timeout_s

    def _where(self, ctx: GateContext) -> tuple[Path, Path, Path]:
        root = Path(ctx.project_root or ".").resolve()
        tests = Path(self.path) if Path(self.path).is_absolute() else root / self.path
        if not tests.exists():
            raise ConfigError(
                f"The 'path' option of gate '{self.type_name}' is {self.path!r}, but {tests} does not "
                "exist. Point it at the folder or file holding your model tests."
            )
        if ctx.model_dir is None:
            raise ConfigError(
                f"gate '{self.type_name}' needs the packaged candidate (GateContext.model_dir) to test it; "
                "none was given."
            )
        return root, tests, Path(ctx.model_dir).resolve()

    def _run(self, root: Path, tests: Path, model_dir: Path, xml: Path) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pytest", str(tests), "-q", "-p", "no:cacheprovider"]
        command += [f"--junitxml={xml}", "--shipyard-project", str(root)]
        env = {**os.environ, MODEL_DIR_ENV.name: str(model_dir)}
        return subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, timeout=self.timeout_s
        )

    def evaluate(self, ctx: GateContext) -> CheckResult:
        root, tests, model_dir = self._where(ctx)
        with tempfile.TemporaryDirectory() as tmp:
            xml = Path(tmp) / "junit.xml"
            try:
                proc = self._run(root, tests, model_dir, xml)
            except subprocess.TimeoutExpired:
                return self._result(
                    Status.FAILED,
                    f"the tests under {self.path} ran longer than {self.timeout_s:g} s and were stopped",
                    reason=Reason.INCONCLUSIVE,
                    hint="Find the slow or hanging test, or raise 'timeout_s'.",
                )
            if proc.returncode in _UNUSABLE or not xml.is_file():
                tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
                raise ConfigError(
                    f"gate '{self.type_name}': pytest could not run the tests under {tests} "
                    f"(exit {proc.returncode}):\n{tail}"
                )
            outcomes = read_junit(xml)
        return self._verdict(outcomes, proc.returncode)

    def _verdict(self, outcomes: JunitOutcomes, exit_code: int) -> CheckResult:
        evidence = {
            "path": self.path,
            "passed": outcomes.passed,
            "failed": len(outcomes.failing),
            "skipped": outcomes.skipped,
            "exit_code": exit_code,
            "failing": [f["test"] for f in outcomes.failing],
        }
        if outcomes.ran == 0 or exit_code == _NO_TESTS:
            return self._result(
                Status.FAILED,
                f"no test ran under {self.path} ({outcomes.skipped} skipped), so the model is untested",
                reason=Reason.INCONCLUSIVE,
                hint="Add test functions (test_*) using the shipyard_model fixture, or fix the path.",
                evidence=evidence,
            )
        rate = outcomes.passed / outcomes.ran
        evidence["pass_rate"] = rate
        counts = f"{outcomes.passed} of {outcomes.ran} tests passed ({rate:.1%})"
        if rate < self.min_pass_rate:
            return self._result(
                Status.FAILED,
                f"{counts}, below the minimum {self.min_pass_rate:.1%} -> FAIL",
                reason=Reason.TESTS_FAILED,
                observed=rate,
                hint=f"Run 'pytest {self.path}' locally to see the failures; SHIPYARD_MODEL_DIR "
                "selects a model folder, --shipyard-model a registered version.",
                examples=outcomes.failing[:_MAX_EXAMPLES],
                evidence=evidence,
            )
        return self._result(
            Status.PASSED, f"{counts} -> PASS", observed=rate, examples=outcomes.failing, evidence=evidence
        )

    def _result(self, status: Status, message: str, **fields: Any) -> CheckResult:
        return CheckResult(
            check=self.type_name,
            status=status,
            message=message,
            subject=self.path,
            expected=f">= {self.min_pass_rate:g} of tests passing",
            **fields,
        )
