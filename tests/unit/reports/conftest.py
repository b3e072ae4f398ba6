"""Fixtures for the report tests: a run compared with production, and a first model."""

from __future__ import annotations

from typing import Any

import pytest
from report_fixtures import make_baseline, make_summary

from shipyard.reports.run_report import build_run_report


@pytest.fixture
def compared() -> dict[str, Any]:
    """A rejected candidate compared with production version 2."""
    return build_run_report(
        make_summary(),
        project="fraud",
        model="fraud",
        baseline=make_baseline(),
        provenance={"git_commit": "0123456789abcdef", "git_dirty": True, "data_digest": "ab" * 32, "seed": 7},
    )


@pytest.fixture
def first_model() -> dict[str, Any]:
    """The first model of a project: nothing in production to compare with."""
    return build_run_report(make_summary(with_baseline=False), project="fraud", model="fraud")
