"""Holm's adjustment and the power / test-set size formulas, including the docs' table."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from shipyard.evaluation.multiple import adjust, holm
from shipyard.evaluation.power import (
    accuracy_rows_required,
    auc_rows_required,
    power,
    rows_required,
    size_tables,
)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "statistics.md"


def _reference_holm(p: list[float]) -> list[float]:
    """Holm (1979) step-down, written out: k p(1), max with (k-1) p(2), ..."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    adjusted, running = [0.0] * len(p), 0.0
    for step, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - step) * p[i]))
        adjusted[i] = running
    return adjusted


def test_holm_matches_the_step_down_definition(seed):
    p = np.random.default_rng(seed).uniform(0, 0.2, 12).tolist()
    assert holm(p).tolist() == pytest.approx(_reference_holm(p))


def test_holm_ignores_undefined_p_values_and_none_leaves_them():
    adjusted = holm([0.01, math.nan, 0.04])
    assert (
        adjusted[0] == pytest.approx(0.02) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.04)
    )
    assert adjust([0.01, 0.04], "none").tolist() == [0.01, 0.04]


def test_power_at_the_boundary_is_alpha_and_grows_with_distance():
    assert power(0.01, 0.0, 0.05) == pytest.approx(0.05)
    assert power(0.01, 0.01 * (1.6449 + 0.8416), 0.05) == pytest.approx(0.8, abs=1e-3)
    assert power(0.0, 0.01, 0.05) == 1.0


def test_rows_required_scales_with_the_squared_standard_error():
    n = rows_required(1000, 0.01, 0.01, 0.05, 0.8)
    assert n == math.ceil(1000 * (1.6449 + 0.8416) ** 2)
    # at that size the standard error shrinks to give exactly the target power
    assert power(0.01 * math.sqrt(1000 / n), 0.01, 0.05) == pytest.approx(0.8, abs=1e-3)
    assert rows_required(1000, 0.01, 0.0, 0.05, 0.8) == math.inf
    assert rows_required(300, 0.02, 2.2e-309, 0.05, 0.8) == math.inf  # overflows, never raises


def test_sizes_fall_with_the_square_of_the_loss():
    assert auc_rows_required(0.01) == pytest.approx(4 * auc_rows_required(0.02), rel=1e-3)
    assert accuracy_rows_required(0.01, discordance=0.1) == math.ceil(0.1 * (2.4865 / 0.01) ** 2)


def test_the_docs_table_is_the_formula():
    text = DOCS.read_text()
    assert size_tables() in text, "regenerate it with: python -m shipyard.evaluation.power"
    assert re.search(r"python -m shipyard\.evaluation\.power", text)
