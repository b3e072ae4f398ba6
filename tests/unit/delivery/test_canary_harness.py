"""A small seeded form of `benchmarks/canary.py`: simulated rollouts through the same gates and
step decision as the controller, with the default rules (full figures in docs/delivery.md)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[3] / "benchmarks" / "canary.py"


@pytest.fixture(scope="module")
def rates() -> dict[str, dict[str, float]]:
    spec = importlib.util.spec_from_file_location("canary_harness", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.measure(seeds=10, rps=20.0)


def test_clean_canaries_are_promoted(rates):
    assert rates["clean"]["promoted"] >= 9, rates["clean"]


@pytest.mark.parametrize("fault", ["errors_5pct", "slower_1_5x", "shifted_psi_0_25"])
def test_each_fault_is_rolled_back(rates, fault):
    assert rates[fault]["rolled_back"] == rates[fault]["runs"] == 10, rates[fault]
    assert rates[fault]["median_minutes"] < 15  # caught at the first step, not at a deadline
